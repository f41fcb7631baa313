"""A corpus of hostile MQTT payloads through a real Mosquitto to the real intake: each one is
counted under its reason, forged gateway ids are refused by the broker, the intake lives on,
and a valid panic afterwards still becomes exactly one incident."""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from kentongan_cloud.domain.incident import Incident
from kentongan_protocol.payloads import EventAck
from kentongan_protocol.topics import ROOT, Suffix, gateway_topic
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import VirtualPost
from kentongan_testkit.plugin import ClientFactory

DISTRICT = "lamteng"
POST = "tb-poncowati-01"
OTHER = "gs-buyut-udik-01"
PUBACK_NOT_AUTHORIZED = 0x87


def _j(obj: object) -> bytes:
    return json.dumps(obj).encode()


def _deep(n: int) -> bytes:
    return b'{"a":' * n + b"1" + b"}" * n


def corpus(good: dict[str, Any]) -> dict[Suffix, dict[str, list[bytes]]]:
    """Hostile payloads per topic suffix, by the reason the intake must count them under."""

    def fresh(**kw: Any) -> bytes:
        return _j(good | {"event_id": str(uuid.uuid4())} | kw)

    return {
        Suffix.EVENT: {
            "oversize": [
                b"{" + b" " * 60_000 + b"}",
                _j(good | {"input": "x" * 9000}),
                _deep(2000),
            ],
            "bad_json": [
                b"",
                b"{not json",
                b"\xff\xfe\xfd\xfc",
                b'{"input": "\xc3\x28"}',  # invalid UTF-8 inside a string
                b"[" * 7000,
                _j(good)[:-5],
                b"\x00" * 64,
            ],
            "schema": [
                b'{"seq": NaN}',  # the JSON parser takes NaN; the model still refuses it
                fresh(seq=float("nan")),
                fresh(monotonic_ms=float("inf")),
                b"null",
                b"[]",
                b"42",
                b'"panic"',
                _deep(20),
                fresh(seq="1"),  # wrong types are refused, not coerced (strict on the wire)
                fresh(seq=1.5),
                fresh(seq=2**70),
                fresh(monotonic_ms=-5),
                fresh(clock_synced="yes"),
                fresh(occurred_at="yesterday"),
                fresh(occurred_at="2026-11-26T01:02:03"),  # naive time
                fresh(event_id="not-a-uuid"),
                fresh(session_id=None),
                fresh(kind="meteor"),
                fresh(kind=None),
                fresh(gateway_id=OTHER),  # a forged id inside the body
                fresh(extra={"deep": [1, 2, 3]}),
                fresh(input=["tombol_pencurian"]),
            ],
            "mismatch": [
                fresh(incident_type="gempa_bumi"),
                fresh(source="web"),
                fresh(source="phone"),
            ],
        },
        Suffix.TELEMETRY: {
            "bad_json": [b"{"],
            "schema": [b'{"uptime_s": NaN}', b'{"session_id": 5}', b"{}", b'{"uptime_s": "long"}'],
        },
        Suffix.STATE: {
            "bad_json": [b"\xff"],
            "schema": [b'{"state": "sleepy"}', b"true"],
        },
        Suffix.CMD_ACK: {
            "bad_json": [b"{]"],
            "schema": [b'{"command_id": 7}', b"[1]"],
        },
    }


def _random_bytes(n: int) -> list[bytes]:
    """Random bytes from a fixed seed, kept only when they cannot start a JSON value."""
    rnd = random.Random(8)
    out: list[bytes] = []
    while len(out) < n:
        raw = rnd.randbytes(rnd.randint(1, 300))
        head = raw.strip(b" \t\r\n")[:1]
        if head and head not in b'{["-tfn0123456789':
            out.append(raw)
    return out


def test_hostile_corpus_counted_by_reason_and_the_intake_lives_on(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    post = VirtualPost(mqtt_client(POST), DISTRICT, POST)
    post.listen()
    good = post.event().model_dump(mode="json")
    expected: dict[str, int] = {}
    for suffix, by_reason in corpus(good).items():
        for reason, items in by_reason.items():
            for raw in items:
                rc = post.client.publish(post.topic(suffix), raw).value
                assert rc < 0x80, f"{suffix} {raw[:40]!r} refused by the broker: {rc:#x}"
                expected[reason] = expected.get(reason, 0) + 1
    noise = _random_bytes(40)
    for raw in noise:
        post.client.publish(post.topic(Suffix.EVENT), raw)
    expected["bad_json"] += len(noise)

    # Forged gateway ids on the topic: the broker refuses them before the cloud sees them.
    for forged in (OTHER, "not-provisioned-99", "cloud"):
        topic = f"{ROOT}/{DISTRICT}/{forged}/{Suffix.EVENT.value}"
        rc = post.client.publish(topic, _j(good)).value
        assert rc == PUBACK_NOT_AUTHORIZED, f"{topic}: {rc:#x}"
    rc = post.client.publish(gateway_topic("other-district", POST, Suffix.EVENT), _j(good)).value
    assert rc == PUBACK_NOT_AUTHORIZED

    total = sum(expected.values())

    def counted() -> dict[str, int] | None:
        c: dict[str, int] = h.db(lambda tx: tx.intake.rejection_counts())
        return c if sum(c.values()) >= total else None

    with contextlib.suppress(TimeoutError):
        h.wait_for(counted, timeout=30, what="every hostile payload counted")
    counts = h.db(lambda tx: tx.intake.rejection_counts())
    assert counts == expected

    # Afterwards a valid panic still becomes exactly one incident, acknowledged.
    ev = post.press(occurred_at=datetime.now(UTC))
    got: set[str] = set()
    while str(ev.event_id) not in got:
        msg = post.client.get(timeout=30)
        if msg.topic.endswith("/event/ack"):
            got |= {str(i) for i in EventAck.model_validate_json(msg.payload).event_ids}
    found: list[Incident] = h.db(lambda tx: tx.incidents.search(limit=50))
    assert [(i.gateway_id, i.incident_type) for i in found] == [(POST, "pencurian")]
