"""Value types of the responders part: who is paged, what they are told, what came back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from kentongan_protocol.ids import Id
from kentongan_protocol.provisioning.district import (
    AgencyKind,
    CapCategory,
    CapSeverity,
    CapUrgency,
    Channel,
    ChannelType,
)
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kentongan_cloud.ports import FleetAlert, IncidentNotice


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Tier = Literal["kampung", "kecamatan", "kabupaten"]
MessageKind = Literal["alert", "reminder", "escalation", "update", "closed"]
AckChannel = Literal[ChannelType, "link", "operator", "api"]


class Recipient(Frozen):
    """One person to page, with the agency they are paged for."""

    person_id: Id
    name: str
    role: str
    agency_id: Id
    agency_name: str
    agency_kind: AgencyKind
    tier: Tier
    channels: list[Channel]


class IncidentFacts(Frozen):
    """What the district file adds to a notice: names, CAP fields, the local time zone."""

    kecamatan_name: str
    district_name: str
    timezone: str
    cap_category: CapCategory
    severity: CapSeverity
    urgency: CapUrgency


class AlertContent(Frozen):
    """Everything one message says; each channel renders it in its own form."""

    kind: MessageKind
    notice: IncidentNotice
    facts: IncidentFacts
    recipient: Recipient
    also_told: list[str] = []
    not_answered_by: list[str] = []
    ack_url: str | None = None
    reply_code: str | None = None
    round: int = 1


class FleetContent(Frozen):
    """A technician's message about a post's equipment; channels render it like an alert,
    without acknowledgement (the fleet page shows when the alarm clears)."""

    alert: FleetAlert
    kampung_name: str
    kecamatan_name: str
    timezone: str
    recipient: Recipient


# What a channel adapter sends: an incident's message or a technician's.
Content = AlertContent | FleetContent


class SendReceipt(Frozen):
    """A provider's acceptance of one message."""

    provider: str
    status: int | None = None
    message_id: str | None = None
    response: Annotated[str, Field(max_length=2000)] = ""


class Drill(Frozen):
    """A scheduled exercise: `status=exercise` incidents in its area and time page only the
    people and agencies it names (ids from the district file)."""

    id: Id
    name: Annotated[str, Field(min_length=1, max_length=120)]
    district: Id
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    kecamatan: Id | None = None
    kampung: Id | None = None
    participants: Annotated[list[Id], Field(min_length=1)]


class Acknowledgement(Frozen):
    """Who acknowledged an incident, when, and through which channel."""

    incident_id: str
    person_id: str
    person_name: str
    agency_id: str
    agency_name: str
    channel: AckChannel
    at: datetime
    first: bool


class DeliveryAttempt(Frozen):
    """One row of the delivery log: one try of one message on one channel."""

    incident_id: str
    person_id: str
    kind: str
    channel_type: str
    provider: str
    address: str
    attempt: int
    outcome: Literal["sent", "transient", "permanent", "skipped", "unconfigured"]
    status: int | None
    provider_message_id: str | None
    response: str
    at: datetime
