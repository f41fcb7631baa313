"""One strict model per payload of the wire contract (DESIGN.md).

Every model forbids unknown fields and bounds sizes; `decode` refuses oversized bytes before
parsing so a hostile message costs little.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from kentongan_protocol.errors import PayloadError
from kentongan_protocol.ids import Id, Latitude, Longitude, SessionId, Sha256Hex, ShortText

MAX_PAYLOAD_BYTES = 8192
"""No Kentongan payload comes near this; anything larger is refused unread."""

# A full ack must fit MAX_PAYLOAD_BYTES: a UUID costs 39 bytes of JSON.
MAX_ACK_IDS = 150
MAX_COMMAND_EXPIRY_S = 60


class Payload(BaseModel):
    """Base of all wire payloads: frozen, strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=512)

    def encode(self) -> bytes:
        """Compact JSON bytes, as sent on the wire."""
        return self.model_dump_json(exclude_none=True).encode()


# --- state (retained birth and Last Will) ----------------------------------------------------


class GatewayState(Payload):
    """Retained on `state`: birth `online`, or the Last Will `offline` of the same session."""

    state: Literal["online", "offline"]
    session_id: SessionId
    firmware: Annotated[str, Field(min_length=1, max_length=32)]
    config_hash: Sha256Hex


# --- events ------------------------------------------------------------------------------------

EventSource = Literal["button", "sensor", "phone", "web", "sms"]
EventStatus = Literal["actual", "exercise", "test"]
EventKind = Literal[
    "panic",
    "cancel",
    "duty_check_in",
    "duty_check_out",
    "sensor_triggered",
    "sensor_cleared",
    "level_high",
    "level_normal",
    "mains_lost",
    "mains_restored",
    "battery_low",
    "battery_ok",
    "tamper_opened",
    "tamper_closed",
    "siren_fault",
    "siren_ok",
]
# Kinds that raise or join an incident and so need an incident type.
INCIDENT_KINDS = frozenset({"panic", "sensor_triggered", "level_high"})


class Position(Payload):
    """A WGS84 position, with accuracy when the phone reports it."""

    lat: Latitude
    lon: Longitude
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)] | None = None


class Event(Payload):
    """Something happened at a post (or on a guard's phone): the unit of at-least-once delivery."""

    event_id: UUID
    session_id: SessionId
    boot_id: UUID
    seq: Annotated[int, Field(ge=0, le=2**53)]
    monotonic_ms: Annotated[int, Field(ge=0, le=2**53)]
    occurred_at: AwareDatetime
    clock_synced: bool
    source: EventSource
    kind: EventKind
    input: Id
    incident_type: Id | None = None
    status: EventStatus = "actual"
    historical: bool = False
    cancels: UUID | None = None
    value: Annotated[float, Field(ge=-1e9, le=1e9)] | None = None
    position: Position | None = None
    detail: ShortText | None = None

    @model_validator(mode="after")
    def _kind_needs(self) -> Event:
        if self.kind in INCIDENT_KINDS and self.incident_type is None:
            msg = f"kind {self.kind!r} needs incident_type"
            raise ValueError(msg)
        if self.kind == "cancel" and self.cancels is None:
            msg = "kind 'cancel' needs cancels (the event_id it withdraws)"
            raise ValueError(msg)
        return self


class EventAck(Payload):
    """The cloud's word that these events are committed: only now may the edge forget them."""

    event_ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_ACK_IDS)]


# --- telemetry ---------------------------------------------------------------------------------

PowerState = Literal["mains", "battery", "unknown"]


class Telemetry(Payload):
    """Heartbeat of a gateway: health, power and how much it still holds unsent."""

    session_id: SessionId
    sent_at: AwareDatetime
    clock_synced: bool
    uptime_s: Annotated[int, Field(ge=0)]
    cpu_temp_c: Annotated[float, Field(ge=-60, le=150)] | None = None
    load_1m: Annotated[float, Field(ge=0, le=1000)] | None = None
    memory_used_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    disk_used_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    wifi_signal_dbm: Annotated[int, Field(ge=-127, le=0)] | None = None
    power: PowerState = "unknown"
    battery_low: bool = False
    tamper: bool = False
    on_duty: bool = False
    maintenance: bool = False
    # Seconds left, not an end time: the Pi's clock may be stale.
    maintenance_left_s: Annotated[int, Field(ge=0)] | None = None
    outbox_depth: Annotated[int, Field(ge=0)]
    shed_count: Annotated[int, Field(ge=0)]


# --- commands ----------------------------------------------------------------------------------


class SirenOn(Payload):
    """Sound the siren with a pattern; a higher revision of the same alarm supersedes."""

    action: Literal["siren_on"]
    alarm_id: UUID
    revision: Annotated[int, Field(ge=0)]
    pattern: Id
    duration_s: Annotated[int, Field(ge=1, le=3600)]


class SirenOff(Payload):
    """Silence an alarm; a late `siren_on` of a lower revision is then ignored."""

    action: Literal["siren_off"]
    alarm_id: UUID
    revision: Annotated[int, Field(ge=0)]


class SelfTest(Payload):
    """Short siren and LED test the technician or operator asks for."""

    action: Literal["test"]
    duration_s: Annotated[int, Field(ge=1, le=30)] = 3


class Ping(Payload):
    """Round-trip check: the gateway answers with a command ack."""

    action: Literal["ping"]


class Reload(Payload):
    """Re-read the gateway configuration from disk."""

    action: Literal["reload"]


MAX_MAINTENANCE_MIN = 1440


class Maintenance(Payload):
    """Maintenance mode switched from the command centre: for `minutes`, or off. While on,
    the post's events go out as status=test (paging nobody) and a panic only chirps."""

    action: Literal["maintenance"]
    on: bool
    minutes: Annotated[int, Field(ge=1, le=MAX_MAINTENANCE_MIN)] | None = None

    @model_validator(mode="after")
    def _minutes_with_on(self) -> Maintenance:
        if self.on and self.minutes is None:
            msg = "maintenance on needs minutes (1..1440)"
            raise ValueError(msg)
        if not self.on and self.minutes is not None:
            msg = "maintenance off takes no minutes"
            raise ValueError(msg)
        return self


CommandBody = Annotated[
    SirenOn | SirenOff | SelfTest | Ping | Reload | Maintenance, Field(discriminator="action")
]


class Command(Payload):
    """A command to one gateway; the broker's MQTT 5 message expiry bounds its life."""

    command_id: UUID
    issued_at: datetime | None = None
    body: CommandBody


class CommandAck(Payload):
    """What the gateway did with a command."""

    command_id: UUID
    result: Literal["done", "duplicate", "superseded", "expired", "rejected", "failed"]
    detail: ShortText | None = None


# --- district broadcast ------------------------------------------------------------------------


class Circle(Payload):
    """CAP-style circle: centre and radius in metres."""

    lat: Latitude
    lon: Longitude
    radius_m: Annotated[float, Field(gt=0, le=100_000)]


class AreaFilter(Payload):
    """Which gateways a broadcast concerns; an empty filter means the whole district."""

    kecamatan: Annotated[list[Id], Field(max_length=64)] = []
    kampung: Annotated[list[Id], Field(max_length=512)] = []
    gateways: Annotated[list[Id], Field(max_length=2048)] = []
    circle: Circle | None = None


class Broadcast(Payload):
    """Area alarm (titir) or all-clear (aman) for many posts at once."""

    broadcast_id: UUID
    action: Literal["area_alarm", "all_clear"]
    alarm_id: UUID
    revision: Annotated[int, Field(ge=0)]
    pattern: Id
    duration_s: Annotated[int, Field(ge=1, le=3600)]
    area: AreaFilter = AreaFilter()


P = TypeVar("P", bound=Payload)


def decode(model: type[P], raw: bytes) -> P:
    """Parse and validate wire bytes; raise PayloadError with a counter-friendly reason."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError("oversize", f"{len(raw)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        # Strict on the wire: "1" is not a seq and "yes" is not a boolean (JSON strings still
        # carry UUIDs, times and enums).
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise PayloadError("bad_json", first["msg"]) from exc
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise PayloadError("schema", f"{where}: {first['msg']}") from exc
