"""Technicians hear of broken posts, as deployed: the cloud's own sinks (built from settings),
a real Mosquitto, virtual posts and a real SMTP server. The sample district's day technician
has WhatsApp, SMS and e-mail; only SMTP is configured here, so e-mail is the first channel
that works."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from kentongan_cloud.clock import ManualClock
from kentongan_cloud.store.db import Tx
from kentongan_cloud.store.outbox import outbox
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, VirtualPost
from kentongan_testkit.plugin import ClientFactory
from sqlalchemy import select

from tests.test_cloud_intake import acked_ids

DISTRICT = "lamteng"
GW = "gs-komering-putih-01"
TECHNICIAN = "teknisi@lamtengkab.example.id"
# Tuesday 7 May 2024, 10:00 WIB: the kabupaten's day technician is on shift.
TUESDAY_MORNING = datetime(2024, 5, 7, 3, 0, tzinfo=UTC)


@dataclass
class TechnicianMailbox:
    """What the SMTP server accepted; `fail_next` answers 451 (try later) to the next DATA."""

    messages: list[Envelope] = field(default_factory=list)
    refused: int = 0
    fail_next: int = 0

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.fail_next > 0:
            self.fail_next -= 1
            self.refused += 1
            return "451 4.3.0 Mail server busy, try again later"
        self.messages.append(envelope)
        return "250 2.0.0 Ok: queued"

    def bodies(self) -> list[str]:
        return [
            m.content.decode() if isinstance(m.content, bytes) else str(m.content)
            for m in self.messages
        ]


@pytest.fixture
def mailbox() -> Iterator[tuple[TechnicianMailbox, int]]:
    box = TechnicianMailbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def start(cloud: CloudFactory, port: int, clock: ManualClock) -> CloudHarness:
    smtp = {"host": "127.0.0.1", "port": port, "starttls": False, "from_addr": "k@example.id"}
    return cloud.start(
        clock=clock,
        real_sinks=True,
        responders={"public_url": "http://kentongan.test", "smtp": smtp},
        fleet={"offline_alert_after_min": 10},
    )


def fleet_outbox(h: CloudHarness) -> list[dict[str, Any]]:
    async def rows(tx: Tx) -> list[dict[str, Any]]:
        q = select(outbox).where(outbox.c.kind == "fleet_alert").order_by(outbox.c.id)
        return [dict(r._mapping) for r in await tx.outbox.conn.execute(q)]

    return h.db(rows)


def delivered(h: CloudHarness) -> list[dict[str, Any]]:
    rows = fleet_outbox(h)
    return rows if rows and all(r["delivered_at"] for r in rows) else []


def test_a_post_silent_for_minutes_reaches_the_technician_once(
    cloud: CloudFactory,
    mqtt_client: ClientFactory,
    mailbox: tuple[TechnicianMailbox, int],
) -> None:
    box, port = mailbox
    clock = ManualClock(TUESDAY_MORNING)
    h = start(cloud, port, clock)
    post = VirtualPost(mqtt_client(GW), DISTRICT, GW)
    post.heartbeat()
    h.wait_for(lambda: h.db(lambda tx: tx.fleet.rows(GW))[0]["online"], what="online")
    clock.advance(30 * 2.5 + 1)  # heartbeat_s 30, factor 2.5: offline
    h.wait_for(lambda: not h.db(lambda tx: tx.fleet.rows(GW))[0]["online"], what="offline")
    time.sleep(1.2)  # sweeps pass: a flapping link is nobody's business yet
    assert box.messages == []
    assert fleet_outbox(h) == []
    clock.advance(10 * 60)
    [row] = h.wait_for(lambda: delivered(h), timeout=20, what="the alert delivered")
    time.sleep(1.2)  # more sweeps and outbox passes
    [mail] = box.messages
    assert mail.rcpt_tos == [TECHNICIAN]
    [body] = box.bodies()
    assert "Subject: KENTONGAN - GANGGUAN PERANGKAT POS di Kp. Komering Putih" in body
    assert "Gateway offline" in body
    assert "Sejak: 07/05 10:01 WIB" in body  # raised at the heartbeat deadline, in WIB
    assert row["attempts"] == 1
    assert len(fleet_outbox(h)) == 1
    assert h.runtime.responders is not None
    log = h.call(h.runtime.responders.fleet_alerts.log.rows(GW))
    assert [(r["person_id"], r["channel_type"]) for r in log] == [("tek-kab-pagi", "email")]


def test_a_tamper_event_reaches_the_technician_after_a_failed_try_once(
    cloud: CloudFactory,
    mqtt_client: ClientFactory,
    mailbox: tuple[TechnicianMailbox, int],
) -> None:
    box, port = mailbox
    box.fail_next = 1  # the mail server is busy at the first try
    clock = ManualClock(TUESDAY_MORNING)
    h = start(cloud, port, clock)
    post = VirtualPost(mqtt_client(GW), DISTRICT, GW)
    post.listen()
    post.send(post.event("tamper_opened", input="tamper_box"))
    acked_ids(post, 1)
    h.wait_for(lambda: box.refused == 1, timeout=20, what="the first try")
    [row] = fleet_outbox(h)
    assert row["delivered_at"] is None
    assert "tek-kab-pagi not reached" in row["last_error"]
    assert box.messages == []
    clock.advance(3)  # the outbox's back-off after one failure is 2 s
    [row] = h.wait_for(lambda: delivered(h), timeout=20, what="the retry delivered")
    time.sleep(1.2)
    assert row["attempts"] == 2
    [body] = box.bodies()
    assert "Kotak gateway dibuka (tamper)" in body
    assert "Kp. Komering Putih, Kec. Gunung Sugih" in body


def test_a_flapping_alarm_tells_the_technician_again_only_after_the_realert_window(
    cloud: CloudFactory,
    mqtt_client: ClientFactory,
    mailbox: tuple[TechnicianMailbox, int],
) -> None:
    box, port = mailbox
    clock = ManualClock(TUESDAY_MORNING)
    h = start(cloud, port, clock)  # realert_after_min: the default, 60
    post = VirtualPost(mqtt_client(GW), DISTRICT, GW)
    post.listen()

    def lid(opened: bool) -> None:
        post.send(post.event("tamper_opened" if opened else "tamper_closed", input="tamper_box"))
        acked_ids(post, 1)

    lid(True)
    h.wait_for(lambda: len(box.messages) == 1, timeout=20, what="the first alert")
    for _ in range(3):  # the lid flaps for ten minutes: the alarm opens and closes each time
        clock.advance(200)
        lid(False)
        lid(True)
    time.sleep(1.2)  # outbox passes
    assert len(box.messages) == 1
    alarms = h.db(lambda tx: tx.fleet.alarms(open_only=False))
    assert len([a for a in alarms if a.kind == "tamper"]) == 4  # the history keeps each
    clock.advance(60 * 60)  # an hour after the alert
    lid(False)
    lid(True)
    h.wait_for(lambda: len(box.messages) == 2, timeout=20, what="the alert an hour later")
    assert len(fleet_outbox(h)) == 2
