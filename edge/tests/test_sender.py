"""Sending from the outbox: order, windows, resends, and forgetting only on event/ack."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
from kentongan_edge.events import EventFactory
from kentongan_edge.outbox import Outbox
from kentongan_edge.sender import Sender, SenderSettings
from kentongan_edge.storage import open_database
from kentongan_edge.timers import ManualTimers
from kentongan_protocol.payloads import Event

EVENT_TOPIC = "kentongan/v1/lamteng/gs-buyut-udik-01/event"
TELEMETRY_TOPIC = "kentongan/v1/lamteng/gs-buyut-udik-01/telemetry"


class FakeBroker:
    """Takes publishes like paho does (returns a mid) and remembers them."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, dict[str, object]]] = []
        self._mid = 0

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        self._mid += 1
        self.sent.append((self._mid, topic, json.loads(payload)))
        return self._mid

    def ids(self) -> list[str]:
        return [str(p.get("event_id", "telemetry")) for _, _, p in self.sent]


class Rig:
    def __init__(self, path: Path, **settings: float) -> None:
        self.timers = ManualTimers()
        self.outbox = Outbox(open_database(path))
        self.session = uuid.uuid4().hex
        self.events = EventFactory(
            session_id=self.session,
            boot_id=uuid.uuid4(),
            clock_synced=lambda: True,
            test_mode=lambda: False,
        )
        s = {"resend_after_s": 10.0, "window": 100, "max_unacked": 2000, **settings}
        self.sender = Sender(
            self.outbox,
            self.timers,
            event_topic=EVENT_TOPIC,
            telemetry_topic=TELEMETRY_TOPIC,
            session_id=self.session,
            settings=SenderSettings(
                resend_after_s=s["resend_after_s"],
                window=int(s["window"]),
                max_unacked=int(s["max_unacked"]),
            ),
        )
        self.broker = FakeBroker()

    def panic(self) -> Event:
        e = self.events.make("panic", "tombol_kebakaran", incident_type="kebakaran")
        row = self.outbox.add_event(e).row
        assert row is not None
        self.sender.offer(row)
        return e

    def puback_all(self, code: int = 0) -> None:
        for mid in list(range(1, self.broker._mid + 1)):
            self.sender.published_ack(mid, code)


def old_session_backlog(path: Path, n: int) -> list[str]:
    ob = Outbox(open_database(path))
    f = EventFactory(
        session_id=uuid.uuid4().hex,
        boot_id=uuid.uuid4(),
        clock_synced=lambda: False,
        test_mode=lambda: False,
    )
    ids = []
    for _ in range(n):
        e = f.make("sensor_triggered", "pelampung_banjir", source="sensor", incident_type="banjir")
        ob.add_event(e)
        ids.append(str(e.event_id))
    ob.add_telemetry(b'{"t":1}', session_id=f.session_id, monotonic_ms=0)
    ob.close()
    return ids


def test_live_first_then_backlog_as_historical_then_telemetry(tmp_path: Path) -> None:
    backlog = old_session_backlog(tmp_path / "o.db", 5)
    rig = Rig(tmp_path / "o.db")
    live = rig.panic()  # pressed while offline
    rig.sender.connected(rig.broker)
    assert rig.broker.ids() == [str(live.event_id), *backlog, "telemetry"]
    payloads = [p for _, _, p in rig.broker.sent]
    assert payloads[0]["historical"] is False
    assert all(p["historical"] is True for p in payloads[1:6])
    assert rig.broker.sent[-1][1] == TELEMETRY_TOPIC


def test_puback_is_not_delivery(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "o.db", resend_after_s=10)
    rig.sender.connected(rig.broker)
    e = rig.panic()
    rig.puback_all()
    assert rig.outbox.event_ids() == {str(e.event_id)}
    assert rig.sender.waiting_for_ack() == {str(e.event_id)}
    rig.timers.advance(9.9)
    assert len(rig.broker.sent) == 1
    rig.timers.advance(0.2)
    # Resent, same event id, still live.
    assert rig.broker.ids() == [str(e.event_id)] * 2
    assert rig.broker.sent[1][2]["historical"] is False
    rig.sender.acknowledged([str(e.event_id)])
    assert rig.outbox.depth == 0
    rig.puback_all()
    rig.timers.advance(100)
    assert len(rig.broker.sent) == 2


def test_refused_publishes_are_kept_and_retried_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig(tmp_path / "o.db", resend_after_s=5)
    rig.sender.connected(rig.broker)
    e = rig.panic()
    with caplog.at_level(logging.WARNING):
        rig.sender.published_ack(1, 0x87)
    assert "not authorised (PUBACK 0x87" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert rig.outbox.event_ids() == {str(e.event_id)}
    rig.timers.advance(5.1)
    assert rig.broker.ids() == [str(e.event_id)] * 2
    rig.sender.published_ack(2, 0x87)
    # Backs off: the next try waits twice as long.
    rig.timers.advance(5.1)
    assert len(rig.broker.sent) == 2
    rig.timers.advance(5.0)
    assert len(rig.broker.sent) == 3


def test_no_subscriber_retries_soon_and_at_once_when_the_cloud_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig(tmp_path / "o.db", resend_after_s=10)
    rig.sender.connected(rig.broker)
    e = rig.panic()
    with caplog.at_level(logging.WARNING):
        rig.sender.published_ack(1, 0x10)
    assert "PUBACK 0x10" in caplog.text
    # Nobody got it: tried again after half a second, then a second, not after 10 s.
    rig.timers.advance(0.6)
    assert rig.broker.ids() == [str(e.event_id)] * 2
    rig.sender.published_ack(2, 0x10)
    rig.timers.advance(0.6)
    assert len(rig.broker.sent) == 2
    rig.timers.advance(0.5)
    assert len(rig.broker.sent) == 3
    # Refused a few more times: the delay has grown to 8 s ...
    for mid in (3, 4, 5):
        rig.sender.published_ack(mid, 0x10)
        rig.timers.advance(2.0 * 2 ** (mid - 3) + 0.1)
    rig.sender.published_ack(6, 0x10)
    assert len(rig.broker.sent) == 6
    later = rig.panic()
    rig.sender.published_ack(7, 0)
    # ... but an event/ack for another event shows the cloud is back: it goes now.
    rig.sender.acknowledged([str(later.event_id)])
    rig.timers.advance(0.01)
    assert rig.broker.ids()[-1] == str(e.event_id)
    assert len(rig.broker.sent) == 8
    assert rig.outbox.event_ids() == {str(e.event_id)}


def test_window_bounds_unacknowledged_publishes(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "o.db", window=3)
    rig.sender.connected(rig.broker)
    for _ in range(5):
        rig.panic()
    assert len(rig.broker.sent) == 3
    rig.sender.published_ack(1, 0)
    assert len(rig.broker.sent) == 4


def test_backlog_waits_for_cloud_acks_but_live_does_not(tmp_path: Path) -> None:
    backlog = old_session_backlog(tmp_path / "o.db", 10)
    rig = Rig(tmp_path / "o.db", max_unacked=4, window=100)
    rig.sender.connected(rig.broker)
    assert rig.broker.ids() == backlog[:4]
    live = rig.panic()
    assert rig.broker.ids()[-1] == str(live.event_id)
    rig.puback_all()
    rig.sender.acknowledged([*backlog[:4], str(live.event_id)])
    assert rig.broker.ids()[5:] == backlog[4:8]


def test_lost_connection_resends_what_had_no_puback(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "o.db")
    rig.sender.connected(rig.broker)
    a, b = rig.panic(), rig.panic()
    rig.sender.published_ack(1, 0)  # a reached the broker, b did not
    rig.sender.disconnected()
    c = rig.panic()  # while offline
    broker2 = FakeBroker()
    rig.sender.connected(broker2)
    # c is live, b lost its PUBACK, a waits for the cloud's ack (not resent yet).
    assert broker2.ids() == [str(c.event_id), str(b.event_id)]
    rig.timers.advance(10.1)
    assert broker2.ids()[-1] == str(a.event_id)


def test_telemetry_is_forgotten_after_its_puback(tmp_path: Path) -> None:
    old_session_backlog(tmp_path / "o.db", 0)
    rig = Rig(tmp_path / "o.db")
    rig.sender.connected(rig.broker)
    assert rig.broker.ids() == ["telemetry"]
    rig.sender.published_ack(1, 0)
    rig.timers.advance(1)
    assert rig.outbox.depth == 0
