"""Request and response bodies, named by role (…Public, …Body)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Self

from kentongan_protocol.ids import Id
from kentongan_protocol.payloads import AreaFilter, Position
from pydantic import BaseModel, ConfigDict, Field

from kentongan_cloud.domain.incident import Incident
from kentongan_cloud.records import (
    AreaAlarmRecord,
    CommandAckRecord,
    CommandRecord,
    SessionSeq,
)


class ErrorBody(BaseModel):
    """Every refusal: a human-readable reason."""

    detail: str


class Unprocessable(BaseModel):
    """422: the request's shape is wrong (FastAPI's list of errors), or its values are unknown
    to this district (one reason)."""

    detail: str | list[dict[str, Any]]


UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"model": Unprocessable, "description": "invalid, or unknown to this district"}
}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordPublic(Body):
    """A stored record shown as is: each field read from the record's attribute of that name
    (the record's other attributes, such as a password hash, stay out)."""

    @classmethod
    def of(cls, record: object) -> Self:
        return cls.model_validate(record, from_attributes=True)


class LoginBody(Body):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class LoginPublic(Body):
    token: str
    csrf_token: str
    username: str
    role: str
    expires_at: datetime


class MePublic(Body):
    username: str
    role: str
    gateway_id: str | None
    agency_id: str | None = None


class ActionBody(Body):
    note: Annotated[str, Field(max_length=1000)] = ""


class NoteBody(Body):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class SirenBody(Body):
    action: Literal["start", "stop"]


class IncidentPublic(Body):
    id: str
    state: str
    incident_type: str
    type_label: str
    status: str
    source: str
    confirmed: bool
    confirmed_at: datetime | None
    historical: bool
    age_s: float | None
    count: int
    district: str
    kecamatan: str
    kampung: str
    gateway_id: str | None
    post_name: str | None
    lat: float
    lon: float
    opened_at: datetime
    first_occurred_at: datetime | None
    last_activation_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    dispatched_at: datetime | None
    dispatched_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    sirens_on: bool
    cap_category: str
    cap_severity: str
    cap_urgency: str
    cap_certainty: str

    @classmethod
    def of(cls, inc: Incident, label: str, cap: Any) -> IncidentPublic:
        return cls(
            id=inc.id,
            state=inc.state,
            incident_type=inc.incident_type,
            type_label=label,
            status=inc.status,
            source=inc.source,
            confirmed=inc.confirmed,
            confirmed_at=inc.confirmed_at,
            historical=inc.historical,
            age_s=inc.age_s,
            count=inc.count,
            district=inc.district,
            kecamatan=inc.kecamatan,
            kampung=inc.kampung,
            gateway_id=inc.gateway_id,
            post_name=inc.post_name,
            lat=inc.lat,
            lon=inc.lon,
            opened_at=inc.opened_at,
            first_occurred_at=inc.first_occurred_at,
            last_activation_at=inc.last_activation_at,
            acknowledged_at=inc.acknowledged_at,
            acknowledged_by=inc.acknowledged_by,
            dispatched_at=inc.dispatched_at,
            dispatched_by=inc.dispatched_by,
            closed_at=inc.closed_at,
            closed_by=inc.closed_by,
            sirens_on=inc.sirens_on,
            cap_category=cap.category,
            cap_severity=cap.severity,
            cap_urgency=cap.urgency,
            cap_certainty=cap.certainty,
        )


class AuditPublic(RecordPublic):
    at: datetime
    actor: str
    action: str
    detail: str


class EventPublic(RecordPublic):
    event_id: str
    gateway_id: str | None
    source: str
    kind: str
    input: str
    status: str
    historical: bool
    seq: int
    occurred_at: datetime
    clock_synced: bool
    received_at: datetime
    outcome: str


class CommandAckPublic(RecordPublic):
    gateway_id: str
    result: str
    detail: str | None
    at: datetime


class CommandPublic(Body):
    command_id: str
    target: str
    action: str
    revision: int
    created_at: datetime
    expires_at: datetime
    outcome: str
    sent_at: datetime | None
    acks: list[CommandAckPublic]

    @classmethod
    def of(cls, c: CommandRecord, acks: list[CommandAckRecord]) -> CommandPublic:
        return cls(
            command_id=c.command_id,
            target=c.target,
            action=c.action,
            revision=c.revision,
            created_at=c.created_at,
            expires_at=c.expires_at,
            outcome=c.outcome,
            sent_at=c.sent_at,
            acks=[CommandAckPublic.of(a) for a in acks if a.command_id == c.command_id],
        )


class IncidentDetail(Body):
    incident: IncidentPublic
    events: list[EventPublic]
    audit: list[AuditPublic]
    commands: list[CommandPublic]


class SessionPublic(RecordPublic):
    session_id: str
    first_seq: int
    max_seq: int
    received: int
    missing: int
    last_at: datetime


class GatewayPublic(Body):
    gateway_id: str
    post_name: str
    kecamatan: str
    kampung: str
    lat: float
    lon: float
    revoked: bool
    retired: bool
    online: bool
    state_since: datetime | None
    offline_reason: str | None
    session_id: str | None
    firmware: str | None
    config_current: bool | None
    last_seen_at: datetime | None
    last_telemetry: dict[str, Any] | None
    last_telemetry_at: datetime | None
    staffed: bool
    duty_since: datetime | None
    alarms: list[str]
    maintenance: bool  # as the last heartbeat said
    maintenance_until: datetime | None  # that heartbeat's arrival plus the time it had left
    sessions: list[SessionPublic] = []

    @classmethod
    def of(cls, row: dict[str, Any], sessions: list[SessionSeq]) -> GatewayPublic:
        reported = row["reported_config_hash"]
        tel, tel_at = row["last_telemetry"] or {}, row["last_telemetry_at"]
        left = tel.get("maintenance_left_s")
        return cls(
            gateway_id=row["gateway_id"],
            post_name=row["post_name"],
            kecamatan=row["kecamatan"],
            kampung=row["kampung"],
            lat=row["lat"],
            lon=row["lon"],
            revoked=row["revoked"],
            retired=row["retired"],
            online=row["online"],
            state_since=row["state_since"],
            offline_reason=row["offline_reason"],
            session_id=row["session_id"],
            firmware=row["firmware"],
            config_current=None if reported is None else reported == row["config_hash"],
            last_seen_at=row["last_seen_at"],
            last_telemetry=row["last_telemetry"],
            last_telemetry_at=row["last_telemetry_at"],
            staffed=row["on_duty"],
            duty_since=row["duty_since"],
            alarms=list(row["alarms"]),
            maintenance=bool(tel.get("maintenance", False)),
            maintenance_until=tel_at + timedelta(seconds=left) if tel_at and left else None,
            sessions=[SessionPublic.of(s) for s in sessions],
        )


class FleetAlarmPublic(RecordPublic):
    gateway_id: str
    kind: str
    raised_at: datetime
    cleared_at: datetime | None
    alerted_at: datetime | None
    detail: str


class AreaAlarmBody(Body):
    area: AreaFilter = AreaFilter()
    pattern: Id = "titir"
    duration_s: Annotated[int, Field(ge=5, le=3600)] = 180


class AreaAlarmPublic(Body):
    alarm_id: str
    action: str
    revision: int
    pattern: str
    duration_s: int
    area: AreaFilter
    started_by: str
    started_at: datetime
    stopped_by: str | None
    stopped_at: datetime | None
    commands: list[CommandPublic] = []

    @classmethod
    def of(cls, a: AreaAlarmRecord, commands: list[CommandPublic]) -> AreaAlarmPublic:
        return cls(
            alarm_id=a.alarm_id,
            action=a.action,
            revision=a.revision,
            pattern=a.pattern,
            duration_s=a.duration_s,
            area=AreaFilter.model_validate_json(a.area_json),
            started_by=a.started_by,
            started_at=a.started_at,
            stopped_by=a.stopped_by,
            stopped_at=a.stopped_at,
            commands=commands,
        )


class ResidentReportBody(Body):
    """The resident form: what happened and where; name and phone are optional."""

    incident_type: Id
    kampung: Id | None = None
    position: Position | None = None
    description: Annotated[str, Field(max_length=1000)] = ""
    name: Annotated[str, Field(max_length=120)] | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ]{6,20}$")] | None = None
    report_id: uuid.UUID | None = None  # the form's own id, so a resubmit is not a new report


class ReportReceipt(Body):
    tracking_code: str
    status_url: str
    duplicate: bool


class ReportStatus(Body):
    """What anyone holding the tracking code may see: no personal data."""

    tracking_code: str
    incident_type: str
    type_label: str
    state: str
    received_at: datetime
    updated_at: datetime


class IntakeReceipt(Body):
    event_id: str
    outcome: str
    incident_id: str | None
