"""The topic tree: built and parsed in one place, refusing what does not belong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kentongan_protocol.errors import TopicError
from kentongan_protocol.ids import ID_PATTERN, RESERVED_GATEWAY_IDS
from kentongan_protocol.topics import (
    Suffix,
    broadcast_topic,
    cloud_filters,
    gateway_filters,
    gateway_topic,
    parse,
)

ids = st.from_regex(ID_PATTERN, fullmatch=True).filter(lambda s: s not in RESERVED_GATEWAY_IDS)


@given(district=ids, gateway=ids, suffix=st.sampled_from(list(Suffix)))
def test_build_then_parse_round_trips(district: str, gateway: str, suffix: Suffix) -> None:
    parsed = parse(gateway_topic(district, gateway, suffix))
    assert (parsed.district, parsed.gateway, parsed.suffix) == (district, gateway, suffix)


def test_broadcast_round_trips() -> None:
    parsed = parse(broadcast_topic("lamteng"))
    assert parsed.is_broadcast
    assert parsed.district == "lamteng"


@pytest.mark.parametrize(
    "topic",
    [
        "other/v1/lamteng/gs-01/event",
        "kentongan/v2/lamteng/gs-01/event",
        "kentongan/v1/lamteng/gs-01",
        "kentongan/v1/lamteng/gs-01/evil",
        "kentongan/v1/Lamteng/gs-01/event",
        "kentongan/v1/lamteng/GS/event",
        "kentongan/v1/lamteng/broadcast/event",
        "kentongan/v1/lamteng/+/event",
        "kentongan/v1/lamteng/gs-01/event/ack/more",
    ],
)
def test_foreign_topics_are_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        parse(topic)


def test_reserved_gateway_ids_cannot_be_built() -> None:
    with pytest.raises(TopicError, match="reserved"):
        gateway_topic("lamteng", "broadcast", Suffix.EVENT)


def test_subscriptions() -> None:
    assert "$share/workers/kentongan/v1/lamteng/+/event" in cloud_filters("lamteng", "workers")
    assert "kentongan/v1/+/+/state" in cloud_filters()
    assert gateway_filters("lamteng", "gs-01") == [
        "kentongan/v1/lamteng/gs-01/cmd",
        "kentongan/v1/lamteng/gs-01/event/ack",
        "kentongan/v1/lamteng/broadcast/cmd",
    ]
