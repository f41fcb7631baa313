"""Model of the district file (firmware_configs/district.yaml)."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kentongan_protocol.ids import Id, Latitude, Longitude

KemendagriDistrict = Annotated[str, Field(pattern=r"^\d{2}\.\d{2}$")]
KemendagriKecamatan = Annotated[str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}$")]
KemendagriKampung = Annotated[str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")]
Label = Annotated[str, Field(min_length=1, max_length=80)]


class Strict(BaseModel):
    """Provisioning models: unknown keys are mistakes, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Point(Strict):
    lat: Latitude
    lon: Longitude


class Bounds(Strict):
    """The district's bounding box; every post and kampung must lie inside it."""

    south: Latitude
    north: Latitude
    west: Longitude
    east: Longitude

    def contains(self, p: Point) -> bool:
        return self.south <= p.lat <= self.north and self.west <= p.lon <= self.east

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.south >= self.north or self.west >= self.east:
            msg = "bounds need south < north and west < east"
            raise ValueError(msg)
        return self


class DistrictInfo(Strict):
    id: Id
    name: Label
    kemendagri_code: KemendagriDistrict
    timezone: Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"] = "Asia/Jakarta"
    bounds: Bounds


class Kampung(Strict):
    id: Id
    name: Label
    code: KemendagriKampung
    location: Point


class Kecamatan(Strict):
    id: Id
    name: Label
    code: KemendagriKecamatan
    kampung: Annotated[list[Kampung], Field(min_length=1)]


class SirenPattern(Strict):
    """A kentongan rhythm: groups of strikes separated by pauses; 0 strikes means continuous
    (titir)."""

    description: Annotated[str, Field(max_length=200)]
    strikes: Annotated[int, Field(ge=0, le=12)]
    strike_ms: Annotated[int, Field(ge=50, le=2000)] = 250
    gap_ms: Annotated[int, Field(ge=50, le=2000)] = 250
    group_pause_ms: Annotated[int, Field(ge=0, le=10_000)] = 1500


CapCategory = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]
CapSeverity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
CapUrgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]


class IncidentType(Strict):
    label: Label
    label_en: Label
    pattern: Id
    cap_category: CapCategory
    severity: CapSeverity
    urgency: CapUrgency = "Immediate"
    max_siren_s: Annotated[int, Field(ge=5, le=1800)] = 180
    fanout_radius_m: Annotated[int, Field(ge=0, le=20_000)] = 1000


ChannelType = Literal["whatsapp", "sms", "sms_modem", "telegram", "email", "webhook"]


_PHONE = re.compile(r"^\+62\d{8,13}$")
# A modem dials national numbers too.
_MODEM_PHONE = re.compile(r"^(\+62|0)\d{8,13}$")
# Plain http only to a receiver on the same machine (a local relay, tests).
_LOOPBACK = ("http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Channel(Strict):
    """One way to reach a person or a system; `to` is checked against the channel type."""

    type: ChannelType
    to: Annotated[str, Field(min_length=3, max_length=200)]
    format: Literal["json", "cap"] | None = None
    secret_env: Annotated[str, Field(pattern=r"^KENTONGAN_[A-Z0-9_]+$")] | None = None

    @model_validator(mode="after")
    def _address_fits_type(self) -> Channel:
        problem = None
        if self.type in ("whatsapp", "sms") and not _PHONE.fullmatch(self.to):
            problem = "a phone number in international form, e.g. +6281234567890"
        elif self.type == "sms_modem" and not _MODEM_PHONE.fullmatch(self.to):
            problem = "a phone number, e.g. +6281234567890 or 081234567890"
        elif self.type == "telegram" and not re.fullmatch(r"^-?\d{5,16}$", self.to):
            problem = "a numeric Telegram chat id"
        elif self.type == "email" and not _EMAIL.fullmatch(self.to):
            problem = "an e-mail address"
        elif self.type == "webhook" and not self.to.startswith(("https://", *_LOOPBACK)):
            problem = "an https:// URL"
        if problem is not None:
            msg = f"{self.type} needs {problem}, not {self.to!r}"
            raise ValueError(msg)
        if self.type == "webhook" and (self.format is None or self.secret_env is None):
            msg = "a webhook needs format (json or cap) and secret_env (its HMAC key)"
            raise ValueError(msg)
        if self.type != "webhook" and (self.format is not None or self.secret_env is not None):
            msg = "format and secret_env are for webhooks only"
            raise ValueError(msg)
        return self


Weekday = Literal["sen", "sel", "rab", "kam", "jum", "sab", "min"]


class Shift(Strict):
    """An on-call shift in the district's local time (WIB for Lampung)."""

    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    start: time
    end: time  # earlier than start: the shift runs past midnight

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if self.start == self.end:
            msg = "start and end are equal; for a 24-hour shift use 00:00 to 23:59"
            raise ValueError(msg)
        return self


class Person(Strict):
    id: Id
    name: Label
    role: Annotated[str, Field(max_length=80)] = ""
    channels: Annotated[list[Channel], Field(min_length=1)]
    shifts: list[Shift] = []


# Who incidents are routed to; technicians are never among them.
IncidentAgencyKind = Literal[
    "police", "satpol_pp", "fire", "ambulance", "disaster", "ketua_rt", "command_centre"
]
# Technicians hear of broken posts (offline, power, tamper, siren), never of incidents.
AgencyKind = Literal[IncidentAgencyKind, "technician"]


class Agency(Strict):
    id: Id
    kind: AgencyKind
    name: Label
    tier: Literal["kampung", "kecamatan", "kabupaten"]
    kecamatan: list[Id] = []
    kampung: list[Id] = []
    people: Annotated[list[Person], Field(min_length=1)]
    fallback: Id

    @model_validator(mode="after")
    def _area_fits_tier(self) -> Agency:
        if self.tier == "kampung" and not self.kampung:
            msg = "a kampung-tier agency lists its kampung"
            raise ValueError(msg)
        if self.tier == "kecamatan" and not self.kecamatan:
            msg = "a kecamatan-tier agency lists its kecamatan"
            raise ValueError(msg)
        return self


class RoutingRule(Strict):
    incident_types: Annotated[list[Id], Field(min_length=1)]
    agency_kinds: Annotated[list[IncidentAgencyKind], Field(min_length=1)]


class Escalation(Strict):
    ack_timeout_s: Annotated[int, Field(ge=30, le=3600)] = 180
    max_rounds: Annotated[int, Field(ge=1, le=10)] = 3
    command_centre: Id


class District(Strict):
    """Everything a district shares: its places, rhythms, responders and rules."""

    district: DistrictInfo
    cancel_window_s: Annotated[int, Field(ge=5, le=300)] = 30
    kecamatan: Annotated[list[Kecamatan], Field(min_length=1)]
    siren_patterns: dict[Id, SirenPattern]
    incident_types: dict[Id, IncidentType]
    agencies: list[Agency]
    routing: list[RoutingRule]
    escalation: Escalation

    def kampung_by_id(self) -> dict[str, tuple[Kecamatan, Kampung]]:
        return {k.id: (kc, k) for kc in self.kecamatan for k in kc.kampung}
