"""Incidents and their rules: opening, joining, confirmation, cancellation and the lifecycle.

Pure: functions take incidents as plain data and the time from the caller, and return the
changes they made, which the store persists and the effects module turns into outbox rows.

Confirmation follows BS 8243's confirmed hold-up (DESIGN.md): within 2 minutes a second
activation from a different input or post, or the same input again at least 30 s later.
Time windows use the cloud's receive time, never the Pi's clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from kentongan_cloud.domain.geo import distance_m
from kentongan_cloud.errors import ConflictError
from kentongan_cloud.ports import IncidentState

CONFIRM_WINDOW = timedelta(minutes=2)
SAME_INPUT_AFTER = timedelta(seconds=30)
MAX_REMEMBERED = 16

OPEN_STATES: frozenset[IncidentState] = frozenset({"new", "acknowledged", "dispatched"})
Status = Literal["actual", "exercise", "test"]
Source = Literal["button", "sensor", "phone", "web", "sms"]
# Residents' reports never sound sirens nor confirm without an operator.
CONFIRMING_SOURCES: frozenset[Source] = frozenset({"button", "sensor", "phone"})

ChangeKind = Literal[
    "opened",
    "joined",
    "went_live",
    "confirmed",
    "cancelled",
    "cancel_refused",
    "acknowledged",
    "dispatched",
    "resolved",
    "false_alarm",
    "note",
    "located",
    "sirens_started",
    "sirens_stopped",
]
CLOSING: frozenset[ChangeKind] = frozenset({"cancelled", "resolved", "false_alarm"})


@dataclass(frozen=True, slots=True)
class Activation:
    """One live press or trigger, remembered for the confirmation window."""

    post: str
    input: str
    at: datetime


@dataclass
class Incident:
    """An incident at a post (or a kampung, for residents' reports) and its whole lifecycle."""

    id: str
    open_key: str | None
    district: str
    kecamatan: str
    kampung: str
    post: str
    gateway_id: str | None
    post_name: str | None
    incident_type: str
    status: Status
    source: Source
    lat: float
    lon: float
    opened_at: datetime
    last_activation_at: datetime
    opening_event_id: str
    state: IncidentState = "new"
    count: int = 1
    confirmed: bool = False
    confirmed_at: datetime | None = None
    historical: bool = False
    first_occurred_at: datetime | None = None
    age_s: float | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    dispatched_at: datetime | None = None
    dispatched_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    alarm_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    alarm_revision: int = 0
    sirens_on: bool = False
    activations: list[Activation] = field(default_factory=list)
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class Change:
    """Something that happened to an incident: audited, and the source of side effects."""

    incident: Incident
    kind: ChangeKind
    actor: str
    at: datetime
    detail: str = ""
    sound: bool = False  # this change starts the fan-out of sirens


@dataclass(frozen=True, slots=True)
class ActivationIn:
    """A panic or trigger arriving at the cloud, already placed at a post or kampung."""

    event_id: str
    post: str
    gateway_id: str | None
    post_name: str | None
    district: str
    kecamatan: str
    kampung: str
    lat: float
    lon: float
    incident_type: str
    status: Status
    source: Source
    input: str
    historical: bool
    occurred_at: datetime
    received_at: datetime


def open_key(post: str, incident_type: str, status: Status) -> str:
    """Unique among open incidents: one per post and type, exercises kept apart."""
    return f"{post}|{incident_type}|{status}"


def _recent(acts: list[Activation], now: datetime) -> list[Activation]:
    return [a for a in acts if abs(now - a.at) <= CONFIRM_WINDOW][-MAX_REMEMBERED:]


def confirms(new: Activation, earlier: list[Activation]) -> Activation | None:
    """The earlier activation that makes `new` a confirmation, if any."""
    for e in reversed(earlier):
        gap = abs(new.at - e.at)
        if gap > CONFIRM_WINDOW:
            continue
        if e.post != new.post or e.input != new.input or gap >= SAME_INPUT_AFTER:
            return e
    return None


def _confirm(inc: Incident, now: datetime, actor: str, detail: str, *, sound: bool) -> Change:
    inc.confirmed = True
    inc.confirmed_at = now
    return Change(inc, "confirmed", actor, now, detail, sound=sound)


def activate(
    existing: Incident | None,
    neighbours: list[Incident],
    ev: ActivationIn,
    *,
    radius_m: float,
    actor: str,
) -> list[Change]:
    """Open an incident or join the open one; confirm when the rule says so.

    `neighbours` are other open incidents of the same type and status; those within
    `radius_m` or in the same kampung count for a confirmation from a different post.
    """
    now = ev.received_at
    changes: list[Change] = []
    if existing is None:
        inc = Incident(
            id=str(uuid.uuid4()),
            open_key=open_key(ev.post, ev.incident_type, ev.status),
            district=ev.district,
            kecamatan=ev.kecamatan,
            kampung=ev.kampung,
            post=ev.post,
            gateway_id=ev.gateway_id,
            post_name=ev.post_name,
            incident_type=ev.incident_type,
            status=ev.status,
            source=ev.source,
            lat=ev.lat,
            lon=ev.lon,
            opened_at=now,
            last_activation_at=now,
            opening_event_id=ev.event_id,
            historical=ev.historical,
            first_occurred_at=ev.occurred_at,
            age_s=max(0.0, (now - ev.occurred_at).total_seconds()) if ev.historical else None,
        )
        detail = f"{ev.source} {ev.input}" + (
            f", from the backlog, {inc.age_s:.0f} s old" if ev.historical else ""
        )
        changes.append(Change(inc, "opened", actor, now, detail))
    else:
        inc = existing
        inc.count += 1
        inc.last_activation_at = now
        changes.append(Change(inc, "joined", actor, now, f"{ev.source} {ev.input}, #{inc.count}"))
        if inc.historical and not ev.historical:
            inc.historical = False
            inc.age_s = None
            changes.append(Change(inc, "went_live", actor, now, "a live activation joined"))
    if ev.historical or ev.source not in CONFIRMING_SOURCES:
        return changes  # backlog and residents' reports never confirm

    act = Activation(ev.post, ev.input, now)
    if not inc.confirmed:
        by = confirms(act, inc.activations)
        if by is not None:
            changes.append(
                _confirm(inc, now, actor, f"{by.input} then {act.input}", sound=inc.is_open)
            )
    for n in neighbours:
        if n is inc or n.post == ev.post or not _near(n, ev, radius_m):
            continue
        by = confirms(act, n.activations)
        if by is None:
            continue
        if not inc.confirmed:
            detail = f"also pressed at {n.post_name or n.post}"
            changes.append(_confirm(inc, now, actor, detail, sound=True))
        if not n.confirmed:
            detail = f"also pressed at {ev.post_name or ev.post}"
            changes.append(_confirm(n, now, actor, detail, sound=False))
    inc.activations = _recent([*inc.activations, act], now)
    return changes


def _near(n: Incident, ev: ActivationIn, radius_m: float) -> bool:
    return n.kampung == ev.kampung or distance_m(n.lat, n.lon, ev.lat, ev.lon) <= radius_m


@dataclass(frozen=True, slots=True)
class CancelledPress:
    """What the cloud knows of the event a cancel withdraws."""

    event_id: str
    gateway_id: str | None
    boot_id: str
    monotonic_ms: int
    incident_id: str | None


def cancel_from_edge(
    inc: Incident | None,
    original: CancelledPress | None,
    *,
    gateway_id: str,
    boot_id: str,
    monotonic_ms: int,
    window_s: int,
    now: datetime,
) -> tuple[Incident | None, Change | None, str]:
    """Apply a cancel from the post; returns the incident, the change and a reason in words.

    The window is measured on the gateway's monotonic clock (same boot), so a cancel that
    drains from the backlog after an outage is judged by when it was pressed, not received.
    """
    if original is None or inc is None:
        return None, None, "the cancelled event is unknown"
    actor = f"gateway:{gateway_id}"
    refuse = None
    elapsed_ms = monotonic_ms - original.monotonic_ms
    if original.gateway_id != gateway_id:
        refuse = "the cancel comes from another post"
    elif original.boot_id != boot_id or not 0 <= elapsed_ms <= window_s * 1000:
        refuse = f"outside the cancel window of {window_s} s"
    elif inc.state != "new":
        refuse = f"the incident is already {inc.state}"
    elif inc.confirmed:
        refuse = "a confirmed incident is closed by an operator"
    if refuse is not None:
        return inc, Change(inc, "cancel_refused", actor, now, refuse), refuse
    _close(inc, "cancelled", actor, now)
    return inc, Change(inc, "cancelled", actor, now, f"cancelled after {elapsed_ms} ms"), ""


Action = Literal["acknowledge", "dispatch", "resolve", "false_alarm", "cancel"]
_TRANSITIONS: dict[Action, tuple[frozenset[IncidentState], IncidentState, ChangeKind]] = {
    "acknowledge": (frozenset({"new"}), "acknowledged", "acknowledged"),
    "dispatch": (frozenset({"new", "acknowledged"}), "dispatched", "dispatched"),
    "resolve": (OPEN_STATES, "resolved", "resolved"),
    "false_alarm": (OPEN_STATES, "false_alarm", "false_alarm"),
    "cancel": (frozenset({"new", "acknowledged"}), "cancelled", "cancelled"),
}


def _close(inc: Incident, state: IncidentState, actor: str, now: datetime) -> None:
    inc.state = state
    inc.open_key = None
    inc.closed_at = now
    inc.closed_by = actor


def transition(inc: Incident, action: Action, actor: str, now: datetime, note: str) -> Change:
    """An operator's step; raise ConflictError when the incident's state does not allow it."""
    allowed, target, kind = _TRANSITIONS[action]
    if inc.state not in allowed:
        msg = f"incident is {inc.state}; cannot {action.replace('_', ' ')}"
        raise ConflictError(msg)
    if target == "acknowledged":
        inc.acknowledged_at, inc.acknowledged_by = now, actor
    if target == "dispatched":
        inc.dispatched_at, inc.dispatched_by = now, actor
        if inc.acknowledged_at is None:
            inc.acknowledged_at, inc.acknowledged_by = now, actor
    inc.state = target
    if target not in OPEN_STATES:
        _close(inc, target, actor, now)
    return Change(inc, kind, actor, now, note)


def locate(inc: Incident, lat: float, lon: float, actor: str, at: datetime, detail: str) -> Change:
    """A guard's phone found its position after the panic went out: the incident moves there.

    Only an open incident raised by a phone moves; a post's incident stays at the post."""
    if not inc.is_open:
        msg = f"incident is {inc.state}; its position is kept"
        raise ConflictError(msg)
    if inc.source != "phone":
        msg = f"only a phone's incident takes a late position, not a {inc.source} one"
        raise ConflictError(msg)
    inc.lat, inc.lon = lat, lon
    return Change(inc, "located", actor, at, detail)
