"""Plain records passed between the store and the rest of the cloud (no SQLAlchemy here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

OutboxKind = Literal["command", "broadcast", "notification", "point", "annotation", "fleet_alert"]
OUTBOX_KINDS: tuple[OutboxKind, ...] = (
    "command",
    "broadcast",
    "notification",
    "point",
    "annotation",
    "fleet_alert",
)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A side effect to deliver after the commit that wrote it."""

    kind: OutboxKind
    key: str  # idempotency key: unique forever, handed to the receiver
    payload: str  # JSON of the port's model (or of a command envelope)
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An outbox row claimed by a worker."""

    id: int
    kind: OutboxKind
    key: str
    payload: str
    attempts: int
    created_at: datetime
    lease_token: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An accepted event as stored (event_id unique forever)."""

    event_id: str
    gateway_id: str | None
    district: str
    source: str
    kind: str
    input: str
    incident_type: str | None
    status: str
    historical: bool
    session_id: str
    boot_id: str
    seq: int
    monotonic_ms: int
    occurred_at: datetime
    clock_synced: bool
    received_at: datetime
    incident_id: str | None
    outcome: str
    cancels: str | None = None
    value: float | None = None
    lat: float | None = None
    lon: float | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    incident_id: str
    at: datetime
    actor: str
    action: str
    detail: str


@dataclass(frozen=True, slots=True)
class GatewayAuditEntry:
    """What a technician or admin did to a post from the command centre."""

    gateway_id: str
    at: datetime
    actor: str
    action: str
    detail: str
    command_id: str | None = None


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """A siren command or broadcast as sent (or still to send), for the ack view."""

    command_id: str
    target: str  # gateway id, or "broadcast"
    action: str
    alarm_id: str
    revision: int
    created_at: datetime
    expires_at: datetime
    incident_id: str | None = None
    outcome: str = "pending"  # pending, sent, expired
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CommandAckRecord:
    command_id: str
    gateway_id: str
    result: str
    detail: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class SessionSeq:
    """Sequence numbers seen for one daemon session; `missing` shows gaps."""

    gateway_id: str
    session_id: str
    first_seq: int
    max_seq: int
    received: int
    last_at: datetime

    @property
    def missing(self) -> int:
        return max(0, self.max_seq - self.first_seq + 1 - self.received)


@dataclass(frozen=True, slots=True)
class FleetAlarmRecord:
    id: int
    gateway_id: str
    kind: str
    raised_at: datetime
    cleared_at: datetime | None
    alerted_at: datetime | None
    detail: str


@dataclass(frozen=True, slots=True)
class UserRecord:
    username: str
    password_hash: str
    role: str
    gateway_id: str | None
    active: bool
    agency_id: str | None = None  # a responder's agency (district file)


@dataclass(frozen=True, slots=True)
class ApiSession:
    username: str
    role: str
    gateway_id: str | None
    csrf_token: str
    expires_at: datetime
    agency_id: str | None = None


@dataclass(frozen=True, slots=True)
class UserAuditEntry:
    """A change to an account: who did what to whom."""

    at: datetime
    actor: str
    action: str
    username: str
    detail: str


@dataclass(frozen=True, slots=True)
class AreaAlarmRecord:
    alarm_id: str
    action: str
    revision: int
    pattern: str
    duration_s: int
    area_json: str
    started_by: str
    started_at: datetime
    stopped_by: str | None
    stopped_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """A resident's report: personal fields are erased after the retention period."""

    tracking_code: str
    incident_id: str | None
    event_id: str
    created_at: datetime
    name: str | None
    phone: str | None
    description: str | None
