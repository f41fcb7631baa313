"""The seams between the cloud's parts: incident core → time series, notifications, annotations.

The core writes outbox rows in the same transaction as an incident change; outbox workers hand
them to these ports. Implementations live in `timeseries/`, `responders/` and `grafana/`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal, Protocol

from kentongan_protocol.ids import Id
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimePoint(Frozen):
    """One time-series point; tags must stay low-cardinality (district, kecamatan, kampung,
    gateway, type), never ids of events or incidents."""

    measurement: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    tags: dict[str, str] = {}
    fields: dict[str, float | int | bool]
    time: AwareDatetime


class PointSink(Protocol):
    """Accepts points for delivery to the time-series store without blocking on the network."""

    def write(self, points: Sequence[TimePoint]) -> None: ...


IncidentState = Literal["new", "acknowledged", "dispatched", "resolved", "false_alarm", "cancelled"]
NoticeReason = Literal["opened", "confirmed", "historical", "cancelled", "closed", "escalated"]


class IncidentNotice(Frozen):
    """What responders are told about an incident: enough to act, nothing more."""

    incident_id: str
    reason: NoticeReason
    incident_type: Id
    type_label: str
    state: IncidentState
    status: Literal["actual", "exercise", "test"]
    confirmed: bool
    historical: bool
    count: int
    source: Literal["button", "sensor", "phone", "web", "sms"]
    district: Id
    kecamatan: Id
    kampung: Id
    kampung_name: str
    post_name: str | None
    gateway_id: Id | None
    lat: float
    lon: float
    opened_at: datetime
    first_occurred_at: datetime | None = None


class Notifier(Protocol):
    """Routes an incident notice to the responders who must act; idempotent by key."""

    async def notify(self, notice: IncidentNotice, idempotency_key: str) -> None: ...


class Annotation(Frozen):
    """A Grafana annotation for an incident step (best effort, never blocking)."""

    time: AwareDatetime
    text: str
    tags: list[str] = []


class AnnotationSink(Protocol):
    async def annotate(self, annotation: Annotation, idempotency_key: str) -> None: ...


FleetAlertKind = Literal["offline", "mains_lost", "battery_low", "tamper", "siren_fault"]


class FleetAlert(Frozen):
    """A technician's alert about a post's equipment: offline for minutes, power, tamper."""

    gateway_id: Id
    post_name: str
    kecamatan: Id
    kampung: Id
    kind: FleetAlertKind
    raised_at: AwareDatetime
    text: str


class FleetAlertSink(Protocol):
    """Tells the technicians; idempotent by key."""

    async def alert_many(
        self, alerts: Sequence[tuple[FleetAlert, str]]
    ) -> Sequence[Exception | None]:
        """Handle each (alert, idempotency key) of an outbox pass in order; per alert None
        when it is done, or the error that leaves it for a retry. Between alerts the sink
        gives the event loop back even when it has nothing to wait for."""
        ...
