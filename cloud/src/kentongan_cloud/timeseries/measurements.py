"""The measurements Kentongan keeps in InfluxDB, as typed constructors of `TimePoint`.

The incident core builds points with these functions and hands them to a `PointSink`; it
never sees line protocol. Each field keeps one type forever (InfluxDB refuses a field that
changes type), so the constructors coerce: counts and flags are integers, durations floats.
Tags are low-cardinality only (district, kecamatan, kampung, gateway and small enums);
dashboards/SCHEMA.md documents every measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from kentongan_protocol.ids import is_id
from kentongan_protocol.payloads import EventSource, EventStatus, Telemetry

from kentongan_cloud.ports import TimePoint

__all__ = [
    "GATEWAY_HEALTH",
    "GATEWAY_ONLINE",
    "INCIDENT_STEP",
    "INTAKE",
    "MEASUREMENTS",
    "POWER",
    "PRESS",
    "SIREN",
    "IncidentStep",
    "OnlineReason",
    "Place",
    "PressKind",
    "SirenTrigger",
    "gateway_health",
    "gateway_online",
    "incident_step",
    "intake_latency",
    "power_state",
    "press",
    "siren",
    "telemetry_points",
]

PRESS = "press"
INCIDENT_STEP = "incident_step"
GATEWAY_HEALTH = "gateway_health"
GATEWAY_ONLINE = "gateway_online"
POWER = "power"
SIREN = "siren"
INTAKE = "intake"
MEASUREMENTS = (PRESS, INCIDENT_STEP, GATEWAY_HEALTH, GATEWAY_ONLINE, POWER, SIREN, INTAKE)

PressKind = Literal["panic", "cancel", "duty_check_in", "duty_check_out"]
IncidentStep = Literal[
    "opened",
    "confirmed",
    "acknowledged",
    "dispatched",
    "resolved",
    "false_alarm",
    "cancelled",
    "escalated",
]
OnlineReason = Literal["birth", "will", "heartbeat_timeout", "heartbeat"]
SirenTrigger = Literal["local", "confirmed", "area_alarm", "operator", "test", "all_clear"]


@dataclass(frozen=True, slots=True)
class Place:
    """Where a point belongs: the tags every measurement shares.

    `gateway` is None for incidents that came from a phone or the web form, not a post.
    """

    district: str
    kecamatan: str
    kampung: str
    gateway: str | None = None

    def __post_init__(self) -> None:
        for name in ("district", "kecamatan", "kampung", "gateway"):
            value = getattr(self, name)
            if value is not None and not is_id(value):
                msg = f"{name} {value!r} is not a Kentongan id"
                raise ValueError(msg)

    def tags(self, **extra: str | None) -> dict[str, str]:
        """These tags plus `extra`, leaving out the ones that are None."""
        base = {
            "district": self.district,
            "kecamatan": self.kecamatan,
            "kampung": self.kampung,
            "gateway": self.gateway,
        }
        base.update(extra)
        return {k: v for k, v in base.items() if v is not None}

    def require_gateway(self) -> str:
        if self.gateway is None:
            msg = "this measurement belongs to a post: the place needs a gateway"
            raise ValueError(msg)
        return self.gateway


def _flag(value: bool) -> int:
    # Integers, not booleans: sum() and mean() work on them in every InfluxQL engine.
    return 1 if value else 0


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def press(
    place: Place,
    *,
    kind: PressKind,
    at: datetime,
    status: EventStatus = "actual",
    incident_type: str | None = None,
    historical: bool = False,
) -> TimePoint:
    """A button at a post was pressed (panic, cancel, duty check-in or check-out).

    `at` is when it happened: the event's occurred_at when the gateway's clock was synced,
    else when the cloud received it.
    """
    place.require_gateway()
    return TimePoint(
        measurement=PRESS,
        tags=place.tags(kind=kind, status=status, type=incident_type),
        fields={"count": 1, "historical": _flag(historical)},
        time=at,
    )


def incident_step(
    place: Place,
    *,
    incident_type: str,
    step: IncidentStep,
    source: EventSource,
    opened_at: datetime,
    at: datetime,
    status: EventStatus = "actual",
    tier: int | None = None,
) -> TimePoint:
    """An incident took a step; `since_open_s` is the time to acknowledge, dispatch, resolve.

    `tier` is the escalation tier reached, for step "escalated".
    """
    if step == "escalated" and tier is None:
        msg = "an escalation step needs its tier"
        raise ValueError(msg)
    return TimePoint(
        measurement=INCIDENT_STEP,
        tags=place.tags(
            type=incident_type,
            step=step,
            source=source,
            status=status,
            tier=None if tier is None else str(tier),
        ),
        fields={"count": 1, "since_open_s": _seconds(opened_at, at)},
        time=at,
    )


def gateway_health(
    place: Place,
    telemetry: Telemetry,
    *,
    received_at: datetime,
    heartbeat_gap_s: float | None = None,
) -> TimePoint:
    """One heartbeat of a gateway; stamped with the cloud's receive time (a Pi's clock may lag).

    `heartbeat_gap_s` is the time since the previous heartbeat of the same gateway, when known.
    """
    place.require_gateway()
    fields: dict[str, float | int | bool] = {
        "uptime_s": int(telemetry.uptime_s),
        "outbox_depth": int(telemetry.outbox_depth),
        "shed_count": int(telemetry.shed_count),
        "on_duty": _flag(telemetry.on_duty),
        "tamper": _flag(telemetry.tamper),
    }
    optional: dict[str, float | None] = {
        "cpu_temp_c": telemetry.cpu_temp_c,
        "load_1m": telemetry.load_1m,
        "memory_used_pct": telemetry.memory_used_pct,
        "disk_used_pct": telemetry.disk_used_pct,
        "heartbeat_gap_s": heartbeat_gap_s,
    }
    fields.update({k: float(v) for k, v in optional.items() if v is not None})
    if telemetry.wifi_signal_dbm is not None:
        fields["signal_dbm"] = int(telemetry.wifi_signal_dbm)
    return TimePoint(measurement=GATEWAY_HEALTH, tags=place.tags(), fields=fields, time=received_at)


def power_state(
    place: Place, *, at: datetime, mains: bool | None, battery_low: bool | None
) -> TimePoint:
    """Power at a post: on mains (PLN) or battery, and whether the battery is low.

    From a heartbeat, or at once from a supervision event (mains_lost, battery_low, ...).
    """
    place.require_gateway()
    fields: dict[str, float | int | bool] = {}
    if mains is not None:
        fields["mains"] = _flag(mains)
    if battery_low is not None:
        fields["battery_low"] = _flag(battery_low)
    if not fields:
        msg = "a power point needs mains or battery_low"
        raise ValueError(msg)
    return TimePoint(measurement=POWER, tags=place.tags(), fields=fields, time=at)


def telemetry_points(
    place: Place,
    telemetry: Telemetry,
    *,
    received_at: datetime,
    heartbeat_gap_s: float | None = None,
) -> list[TimePoint]:
    """Everything one heartbeat tells: gateway health, and power when the gateway knows it."""
    points = [
        gateway_health(place, telemetry, received_at=received_at, heartbeat_gap_s=heartbeat_gap_s)
    ]
    mains = {"mains": True, "battery": False}.get(telemetry.power)
    points.append(
        power_state(place, at=received_at, mains=mains, battery_low=telemetry.battery_low)
    )
    return points


def gateway_online(place: Place, *, online: bool, reason: OnlineReason, at: datetime) -> TimePoint:
    """A gateway came online (birth) or went offline (Last Will, heartbeats stopped)."""
    place.require_gateway()
    return TimePoint(
        measurement=GATEWAY_ONLINE,
        tags=place.tags(reason=reason),
        fields={"online": _flag(online)},
        time=at,
    )


def siren(
    place: Place,
    *,
    on: bool,
    trigger: SirenTrigger,
    at: datetime,
    duration_s: int | None = None,
) -> TimePoint:
    """A siren at a post was switched on (for `duration_s`) or off."""
    place.require_gateway()
    fields: dict[str, float | int | bool] = {"count": 1}
    if duration_s is not None:
        fields["duration_s"] = int(duration_s)
    return TimePoint(
        measurement=SIREN,
        tags=place.tags(action="on" if on else "off", trigger=trigger),
        fields=fields,
        time=at,
    )


def intake_latency(
    place: Place,
    *,
    source: EventSource,
    received_at: datetime,
    committed_at: datetime,
    occurred_at: datetime | None = None,
) -> TimePoint:
    """How long an event took to become an incident change.

    `commit_s` is the cloud's share (received → committed); `end_to_end_s` (occurred →
    committed) only for a live event from a clock-synced sender: pass occurred_at as None
    for historical events and unsynced clocks.
    """
    fields: dict[str, float | int | bool] = {
        "count": 1,
        "commit_s": _seconds(received_at, committed_at),
    }
    if occurred_at is not None:
        fields["end_to_end_s"] = _seconds(occurred_at, committed_at)
    return TimePoint(
        measurement=INTAKE, tags=place.tags(source=source), fields=fields, time=committed_at
    )
