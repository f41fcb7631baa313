"""The topic tree: the only code that builds or parses Kentongan topic strings.

`kentongan/v1/{district}/{gateway}/{suffix}` for one gateway and
`kentongan/v1/{district}/broadcast/cmd` for every gateway of a district.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kentongan_protocol.errors import TopicError
from kentongan_protocol.ids import RESERVED_GATEWAY_IDS, is_id

ROOT = "kentongan/v1"
BROADCAST = "broadcast"


class Suffix(StrEnum):
    """What a gateway topic carries (DESIGN.md's wire contract)."""

    STATE = "state"
    EVENT = "event"
    EVENT_ACK = "event/ack"
    TELEMETRY = "telemetry"
    CMD = "cmd"
    CMD_ACK = "cmd/ack"


EDGE_PUBLISHES = (Suffix.STATE, Suffix.EVENT, Suffix.TELEMETRY, Suffix.CMD_ACK)
CLOUD_PUBLISHES = (Suffix.EVENT_ACK, Suffix.CMD)


def _check_id(kind: str, value: str) -> None:
    if not is_id(value):
        msg = f"{kind} id {value!r} must match ^[a-z0-9][a-z0-9_-]{{0,31}}$"
        raise TopicError(msg)


def gateway_topic(district: str, gateway: str, suffix: Suffix) -> str:
    """Topic of one gateway's stream, e.g. kentongan/v1/lamteng/gs-01/event."""
    _check_id("district", district)
    _check_id("gateway", gateway)
    if gateway in RESERVED_GATEWAY_IDS:
        msg = f"gateway id {gateway!r} is reserved"
        raise TopicError(msg)
    return f"{ROOT}/{district}/{gateway}/{suffix.value}"


def broadcast_topic(district: str) -> str:
    """Topic on which the cloud commands every gateway of a district at once."""
    _check_id("district", district)
    return f"{ROOT}/{district}/{BROADCAST}/cmd"


def cloud_filters(district: str | None = None, share_group: str | None = None) -> list[str]:
    """Subscriptions of a cloud worker; with `share_group`, workers split the load."""
    level = "+" if district is None else district
    if district is not None:
        _check_id("district", district)
    suffixes = (Suffix.STATE, Suffix.EVENT, Suffix.TELEMETRY, Suffix.CMD_ACK)
    filters = [f"{ROOT}/{level}/+/{s.value}" for s in suffixes]
    if share_group is None:
        return filters
    _check_id("share group", share_group)
    return [f"$share/{share_group}/{f}" for f in filters]


def gateway_filters(district: str, gateway: str) -> list[str]:
    """Subscriptions of a gateway: its own commands and acks, and its district's broadcasts."""
    return [
        gateway_topic(district, gateway, Suffix.CMD),
        gateway_topic(district, gateway, Suffix.EVENT_ACK),
        broadcast_topic(district),
    ]


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """A topic taken apart; `gateway` is None for a district broadcast."""

    district: str
    gateway: str | None
    suffix: Suffix

    @property
    def is_broadcast(self) -> bool:
        return self.gateway is None


def parse(topic: str) -> ParsedTopic:
    """Take a concrete topic apart, refusing anything outside the tree."""
    prefix = ROOT + "/"
    if not topic.startswith(prefix):
        msg = f"topic {topic[:80]!r} is not under {ROOT}/"
        raise TopicError(msg)
    parts = topic[len(prefix) :].split("/")
    if len(parts) < 3:
        msg = f"topic {topic[:80]!r} has too few levels"
        raise TopicError(msg)
    district, gateway, rest = parts[0], parts[1], "/".join(parts[2:])
    _check_id("district", district)
    _check_id("gateway", gateway)
    if gateway == BROADCAST:
        if rest != "cmd":
            msg = f"broadcast topic {topic[:80]!r} must end in /cmd"
            raise TopicError(msg)
        return ParsedTopic(district, None, Suffix.CMD)
    try:
        suffix = Suffix(rest)
    except ValueError:
        msg = f"unknown topic suffix {rest[:40]!r}"
        raise TopicError(msg) from None
    return ParsedTopic(district, gateway, suffix)
