"""Validate what arrives and place it: which post, which kind of item, or why it is refused.

Refusal reasons are counter labels: oversize, bad_json, schema (from the protocol models),
bad_topic, unknown_gateway, revoked_gateway and mismatch (topic and body disagree: another
district, a phone or web source on a gateway topic, an incident type the district lacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kentongan_protocol.errors import PayloadError, TopicError
from kentongan_protocol.payloads import (
    INCIDENT_KINDS,
    CommandAck,
    Event,
    GatewayState,
    Telemetry,
    decode,
)
from kentongan_protocol.topics import Suffix, parse

from kentongan_cloud.domain.sites import Directory, Place, Site

RejectReason = Literal[
    "oversize",
    "bad_json",
    "schema",
    "bad_topic",
    "unknown_gateway",
    "revoked_gateway",
    "mismatch",
]
GATEWAY_SOURCES = frozenset({"button", "sensor"})


@dataclass(frozen=True, slots=True)
class ReportDetails:
    """A resident's personal details, kept apart for erasure after retention."""

    tracking_code: str
    name: str | None
    phone: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class EventItem:
    """An event placed at a post (gateway or guard's phone) or a kampung (resident)."""

    event: Event
    post: str
    place: Place
    lat: float
    lon: float
    site: Site | None = None
    report: ReportDetails | None = None

    @property
    def gateway_id(self) -> str | None:
        return self.site.gateway_id if self.site else None


@dataclass(frozen=True, slots=True)
class StateItem:
    site: Site
    state: GatewayState


@dataclass(frozen=True, slots=True)
class TelemetryItem:
    site: Site
    telemetry: Telemetry


@dataclass(frozen=True, slots=True)
class CommandAckItem:
    site: Site
    ack: CommandAck


Item = EventItem | StateItem | TelemetryItem | CommandAckItem


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: RejectReason
    detail: str
    gateway_id: str | None = None


def check_event(ev: Event, d: Directory, *, sources: frozenset[str]) -> Rejected | None:
    """Rules the schema cannot state: the source fits the path, the type is the district's."""
    if ev.source not in sources:
        return Rejected("mismatch", f"source {ev.source!r} is not accepted on this path")
    if ev.kind in INCIDENT_KINDS and (
        ev.incident_type is None or d.incident_type(ev.incident_type) is None
    ):
        return Rejected("mismatch", f"unknown incident type {ev.incident_type!r}")
    return None


def classify_mqtt(topic: str, payload: bytes, d: Directory) -> Item | Rejected:
    """One MQTT message from a gateway: an item to commit, or a counted refusal."""
    try:
        t = parse(topic)
    except TopicError as exc:
        return Rejected("bad_topic", str(exc))
    if t.district != d.district_id:
        return Rejected("mismatch", f"topic of district {t.district!r}, not {d.district_id!r}")
    readable = (Suffix.EVENT, Suffix.STATE, Suffix.TELEMETRY, Suffix.CMD_ACK)
    site = d.sites.get(t.gateway or "")
    if t.gateway is None or t.suffix not in readable:
        refused = Rejected("bad_topic", f"the cloud does not read {topic[:80]!r}")
    elif site is None:
        reason: RejectReason = "revoked_gateway" if t.gateway in d.revoked else "unknown_gateway"
        refused = Rejected(reason, f"gateway {t.gateway!r}", t.gateway)
    else:
        refused = None
    if refused is not None or site is None:
        return refused or Rejected("bad_topic", topic[:80])
    try:
        return _decode(t.suffix, payload, site, d)
    except PayloadError as exc:
        why: RejectReason = "schema"
        if exc.reason == "oversize":
            why = "oversize"
        elif exc.reason == "bad_json":
            why = "bad_json"
        return Rejected(why, exc.detail, site.gateway_id)


def _decode(suffix: Suffix, payload: bytes, site: Site, d: Directory) -> Item | Rejected:
    if suffix == Suffix.EVENT:
        ev = decode(Event, payload)
        bad = check_event(ev, d, sources=GATEWAY_SOURCES)
        if bad is not None:
            return Rejected(bad.reason, bad.detail, site.gateway_id)
        return EventItem(ev, site.gateway_id, site.place, site.lat, site.lon, site=site)
    if suffix == Suffix.STATE:
        return StateItem(site, decode(GatewayState, payload))
    if suffix == Suffix.TELEMETRY:
        return TelemetryItem(site, decode(Telemetry, payload))
    return CommandAckItem(site, decode(CommandAck, payload))
