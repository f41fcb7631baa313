"""Fleet health rules: online and offline, power, tamper and siren alarms, duty.

A Last Will counts only when its session_id matches the current birth: a late Will of an
earlier connection must not mark a gateway that has since come back as offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from kentongan_protocol.payloads import GatewayState, Telemetry

AlarmKind = Literal["offline", "mains_lost", "battery_low", "tamper", "siren_fault"]
SUPERVISION_EVENTS: dict[str, tuple[AlarmKind, bool]] = {
    "mains_lost": ("mains_lost", True),
    "mains_restored": ("mains_lost", False),
    "battery_low": ("battery_low", True),
    "battery_ok": ("battery_low", False),
    "tamper_opened": ("tamper", True),
    "tamper_closed": ("tamper", False),
    "siren_fault": ("siren_fault", True),
    "siren_ok": ("siren_fault", False),
}
DUTY_EVENTS = {"duty_check_in": True, "duty_check_out": False}


@dataclass
class GatewayHealth:
    """What the command centre knows about one gateway."""

    gateway_id: str
    heartbeat_s: int
    online: bool = False
    session_id: str | None = None
    firmware: str | None = None
    reported_config_hash: str | None = None
    state_since: datetime | None = None
    offline_reason: str | None = None
    last_seen_at: datetime | None = None
    deadline_at: datetime | None = None
    # Telemetry taken by this transaction; a load leaves it None (nothing reads it back).
    last_telemetry: dict[str, object] | None = None
    last_telemetry_at: datetime | None = None
    on_duty: bool = False
    duty_since: datetime | None = None
    alarms: set[AlarmKind] = field(default_factory=set)
    version: int = 0


@dataclass(frozen=True, slots=True)
class FleetChange:
    gateway_id: str
    kind: Literal["online", "offline", "alarm_raised", "alarm_cleared", "duty", "stale_will"]
    at: datetime
    alarm: AlarmKind | None = None
    detail: str = ""


def seen(g: GatewayHealth, now: datetime, factor: float) -> None:
    """Any message proves life: push the heartbeat deadline."""
    g.last_seen_at = now
    g.deadline_at = now + timedelta(seconds=g.heartbeat_s * factor)


def _online(g: GatewayHealth, session_id: str, now: datetime, why: str) -> list[FleetChange]:
    was = g.online
    g.online, g.session_id, g.offline_reason = True, session_id, None
    out: list[FleetChange] = []
    if not was:
        g.state_since = now
        out.append(FleetChange(g.gateway_id, "online", now, detail=why))
    if "offline" in g.alarms:
        g.alarms.discard("offline")
        out.append(FleetChange(g.gateway_id, "alarm_cleared", now, alarm="offline"))
    return out


def go_offline(g: GatewayHealth, now: datetime, reason: str) -> list[FleetChange]:
    if not g.online:
        return []
    g.online, g.offline_reason, g.state_since = False, reason, now
    g.alarms.add("offline")
    return [
        FleetChange(g.gateway_id, "offline", now, detail=reason),
        FleetChange(g.gateway_id, "alarm_raised", now, alarm="offline", detail=reason),
    ]


def on_state(g: GatewayHealth, st: GatewayState, now: datetime) -> list[FleetChange]:
    """Birth or Last Will on the retained state topic."""
    if st.state == "online":
        g.firmware, g.reported_config_hash = st.firmware, st.config_hash
        return _online(g, st.session_id, now, f"birth of session {st.session_id[:8]}")
    if st.session_id != g.session_id:
        detail = f"Last Will of session {st.session_id[:8]} ignored; current is "
        detail += (g.session_id or "none")[:8]
        return [FleetChange(g.gateway_id, "stale_will", now, detail=detail)]
    return go_offline(g, now, "last_will")


def _alarm(g: GatewayHealth, kind: AlarmKind, on: bool, now: datetime) -> list[FleetChange]:
    if on and kind not in g.alarms:
        g.alarms.add(kind)
        return [FleetChange(g.gateway_id, "alarm_raised", now, alarm=kind)]
    if not on and kind in g.alarms:
        g.alarms.discard(kind)
        return [FleetChange(g.gateway_id, "alarm_cleared", now, alarm=kind)]
    return []


def _duty(g: GatewayHealth, on: bool, now: datetime) -> list[FleetChange]:
    if g.on_duty == on:
        return []
    g.on_duty, g.duty_since = on, now
    return [FleetChange(g.gateway_id, "duty", now, detail="on duty" if on else "off duty")]


def on_telemetry(g: GatewayHealth, t: Telemetry, now: datetime) -> list[FleetChange]:
    """A heartbeat: last telemetry, power and tamper state; adopts a session it proves alive."""
    g.last_telemetry = t.model_dump(mode="json", exclude_none=True)
    g.last_telemetry_at = now
    out: list[FleetChange] = []
    if not g.online or g.session_id != t.session_id:
        out += _online(g, t.session_id, now, "heartbeat")
    out += _alarm(g, "mains_lost", t.power == "battery", now)
    out += _alarm(g, "battery_low", t.battery_low, now)
    out += _alarm(g, "tamper", t.tamper, now)
    out += _duty(g, t.on_duty, now)
    return out


def on_supervision_event(g: GatewayHealth, kind: str, now: datetime) -> list[FleetChange]:
    """Power, tamper, siren and duty events from the post."""
    if kind in SUPERVISION_EVENTS:
        alarm, on = SUPERVISION_EVENTS[kind]
        return _alarm(g, alarm, on, now)
    if kind in DUTY_EVENTS:
        return _duty(g, DUTY_EVENTS[kind], now)
    return []
