"""Payload models: strict, bounded, and decoding errors that say why."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kentongan_protocol.errors import PayloadError
from kentongan_protocol.payloads import (
    MAX_ACK_IDS,
    MAX_PAYLOAD_BYTES,
    Broadcast,
    Command,
    CommandAck,
    Event,
    EventAck,
    GatewayState,
    Maintenance,
    SirenOn,
    Telemetry,
    decode,
)

SESSION = uuid.uuid4().hex


def event_dict(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "session_id": SESSION,
        "boot_id": str(uuid.uuid4()),
        "seq": 7,
        "monotonic_ms": 123456,
        "occurred_at": "2026-11-26T13:00:00+00:00",
        "clock_synced": True,
        "source": "button",
        "kind": "panic",
        "input": "panic-maling",
        "incident_type": "pencurian",
        "status": "actual",
        "historical": False,
    }
    base.update(over)
    return base


def test_event_round_trip() -> None:
    ev = decode(Event, json.dumps(event_dict()).encode())
    assert ev.kind == "panic"
    assert decode(Event, ev.encode()) == ev


@pytest.mark.parametrize(
    ("change", "reason", "where"),
    [
        ({"extra": 1}, "schema", "extra"),
        ({"seq": -1}, "schema", "seq"),
        ({"session_id": "short"}, "schema", "session_id"),
        ({"source": "carrier-pigeon"}, "schema", "source"),
        ({"status": "maybe"}, "schema", "status"),
        ({"occurred_at": "2026-11-26T13:00:00"}, "schema", "occurred_at"),
        ({"input": "Panic Button"}, "schema", "input"),
        ({"incident_type": None}, "schema", "incident_type"),
        ({"kind": "cancel", "cancels": None}, "schema", "cancels"),
        ({"detail": "x" * 201}, "schema", "detail"),
    ],
)
def test_bad_events_are_refused_with_a_reason(
    change: dict[str, Any], reason: str, where: str
) -> None:
    with pytest.raises(PayloadError) as err:
        decode(Event, json.dumps(event_dict(**change)).encode())
    assert err.value.reason == reason
    assert where in str(err.value) or "needs" in str(err.value)


def test_oversize_is_refused_unread() -> None:
    with pytest.raises(PayloadError) as err:
        decode(Event, b" " * (MAX_PAYLOAD_BYTES + 1))
    assert err.value.reason == "oversize"


def test_bad_json() -> None:
    with pytest.raises(PayloadError) as err:
        decode(Event, b"{not json")
    assert err.value.reason == "bad_json"


def test_a_full_ack_fits_the_payload_limit() -> None:
    ack = EventAck(event_ids=[uuid.uuid4() for _ in range(MAX_ACK_IDS)])
    assert len(ack.encode()) <= MAX_PAYLOAD_BYTES
    assert decode(EventAck, ack.encode()) == ack


def test_ack_is_bounded() -> None:
    ids = [str(uuid.uuid4()) for _ in range(MAX_ACK_IDS + 1)]
    with pytest.raises(PayloadError):
        decode(EventAck, json.dumps({"event_ids": ids}).encode())
    with pytest.raises(PayloadError):
        decode(EventAck, b'{"event_ids": []}')


def test_command_bodies_are_discriminated() -> None:
    cmd = Command(
        command_id=uuid.uuid4(),
        body=SirenOn(
            action="siren_on", alarm_id=uuid.uuid4(), revision=2, pattern="titir", duration_s=60
        ),
    )
    back = decode(Command, cmd.encode())
    assert isinstance(back.body, SirenOn)
    assert back.body.revision == 2
    with pytest.raises(PayloadError):
        decode(
            Command,
            b'{"command_id": "%s", "body": {"action": "self_destruct"}}'
            % str(uuid.uuid4()).encode(),
        )


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"action": "maintenance", "on": true}', "needs minutes"),
        ('{"action": "maintenance", "on": true, "minutes": 0}', "body.maintenance.minutes"),
        ('{"action": "maintenance", "on": true, "minutes": 1441}', "body.maintenance.minutes"),
        ('{"action": "maintenance", "on": false, "minutes": 5}', "takes no minutes"),
        ('{"action": "maintenance", "on": "yes", "minutes": 5}', "body.maintenance.on"),
    ],
)
def test_maintenance_command_is_bounded(body: str, where: str) -> None:
    raw = f'{{"command_id": "{uuid.uuid4()}", "body": {body}}}'.encode()
    with pytest.raises(PayloadError, match=where):
        decode(Command, raw)


def test_maintenance_command_round_trips() -> None:
    for body in (
        Maintenance(action="maintenance", on=True, minutes=90),
        Maintenance(action="maintenance", on=False),
    ):
        cmd = Command(command_id=uuid.uuid4(), body=body)
        assert decode(Command, cmd.encode()).body == body


def test_other_payloads_validate() -> None:
    GatewayState(state="online", session_id=SESSION, firmware="0.1.0", config_hash="a" * 64)
    Telemetry(
        session_id=SESSION,
        sent_at=datetime.now(UTC),
        clock_synced=False,
        uptime_s=5,
        outbox_depth=0,
        shed_count=0,
    )
    CommandAck(command_id=uuid.uuid4(), result="done")
    b = Broadcast(
        broadcast_id=uuid.uuid4(),
        action="all_clear",
        alarm_id=uuid.uuid4(),
        revision=3,
        pattern="aman",
        duration_s=30,
    )
    assert decode(Broadcast, b.encode()) == b


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    for model in (Event, EventAck, Telemetry, Command, CommandAck, Broadcast, GatewayState):
        reason = "accepted"
        try:
            decode(model, raw)
        except PayloadError as exc:
            reason = exc.reason
        assert reason in {"accepted", "oversize", "bad_json", "schema"}


@given(
    st.dictionaries(
        st.sampled_from(list(event_dict())),
        st.none() | st.integers() | st.text(max_size=40) | st.booleans(),
        max_size=6,
    )
)
def test_corrupted_events_never_crash(change: dict[str, Any]) -> None:
    reason = "accepted"
    try:
        decode(Event, json.dumps(event_dict(**change)).encode())
    except PayloadError as exc:
        reason = exc.reason
    assert reason in {"accepted", "schema"}
