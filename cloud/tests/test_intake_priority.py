"""Presses commit in a lane of their own, before the background that arrived with them:
under load the queue holds dozens of battery readings and heartbeats, and a press must not
wait for their rows before the console can show its incident and the post gets its
event/ack. Every message is still committed and acknowledged exactly once, even when the
background's transaction fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from kentongan_cloud.clock import ManualClock
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.errors import DatabaseUnavailableError
from kentongan_cloud.intake.classify import EventItem, Item
from kentongan_cloud.intake.pipeline import Envelope, Intake
from kentongan_cloud.records import OutboxKind
from kentongan_cloud.store.db import Database
from kentongan_protocol.payloads import Event, EventAck
from kentongan_protocol.topics import Suffix, gateway_topic

NOW = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
BACKGROUND = 30


class Batch:
    """Envelopes for one batch: battery-low readings at many posts, one panic among them."""

    def __init__(self, directory: Directory, panic_at: int | None) -> None:
        self.sites = sorted(directory.sites)[: BACKGROUND + 1]
        self.acked: list[str] = []  # the broker acknowledgements, by post
        self.messages: list[tuple[str, bytes, Callable[[], None]]] = []
        self.panic_id: uuid.UUID | None = None
        for i, gid in enumerate(self.sites):
            panic = i == panic_at
            ev = Event(
                event_id=uuid.uuid4(),
                session_id=uuid.uuid4().hex,
                boot_id=uuid.uuid4(),
                seq=0,
                monotonic_ms=1000,
                occurred_at=NOW,
                clock_synced=True,
                source="button" if panic else "sensor",
                kind="panic" if panic else "battery_low",
                input="tombol_kebakaran" if panic else "aki_lemah",
                incident_type="kebakaran" if panic else None,
                status="actual",
            )
            if panic:
                self.panic_id = ev.event_id
            topic = gateway_topic(directory.district_id, gid, Suffix.EVENT)
            self.messages.append((topic, ev.encode(), self._ack(gid)))

    def _ack(self, gateway_id: str) -> Callable[[], None]:
        return lambda: self.acked.append(gateway_id)


class FailsOnceAfterThePresses(Intake):
    """The database goes away once, for the background's first transaction."""

    failed = False

    async def _commit(
        self,
        work: list[tuple[Envelope, Item]],
        rejected: dict[str, tuple[int, str]],
        kinds: set[OutboxKind],
    ) -> None:
        presses = [i for _, i in work if isinstance(i, EventItem) and i.event.kind == "panic"]
        if not self.failed and not presses:
            self.failed = True
            msg = "the database went away (test)"
            raise DatabaseUnavailableError(msg)
        await super()._commit(work, rejected, kinds)


def run(
    db_url: str, directory: Directory, panic_at: int | None, *, fail_once: bool = False
) -> tuple[Batch, list[EventAck], int, int]:
    batch = Batch(directory, panic_at)
    published: list[EventAck] = []

    async def go() -> tuple[int, int]:
        db = Database(db_url)
        try:
            await db.create_schema()
            async with db.transaction() as tx:
                await tx.fleet.sync(directory, directory.sites.keys())
            kind = FailsOnceAfterThePresses if fail_once else Intake
            intake = kind(
                db,
                directory,
                ManualClock(NOW),
                command_expiry_s=60,
                heartbeat_factor=3.0,
                publish=lambda _t, p: published.append(EventAck.model_validate_json(p)),
            )
            # As the MQTT link hands them over, then both lanes at work.
            for topic, payload, ack in batch.messages:
                intake.offer(topic, payload, ack)
            lanes = asyncio.create_task(intake.run())
            deadline = asyncio.get_running_loop().time() + 30
            while len(batch.acked) < len(batch.messages):
                assert asyncio.get_running_loop().time() < deadline, batch.acked
                await asyncio.sleep(0.01)
            lanes.cancel()
            async with db.transaction() as tx:
                stored = await tx.intake.count_events()
            return stored, intake.stats.batches
        finally:
            await db.close()

    stored, transactions = asyncio.run(go())
    return batch, published, stored, transactions


def test_a_press_commits_and_is_acked_before_the_background(
    db_url: str, generated_district: Directory
) -> None:
    batch, published, stored, transactions = run(db_url, generated_district, panic_at=17)
    assert stored == BACKGROUND + 1
    assert transactions == 2
    # The press's event/ack went out first, alone; then the rest, each event once.
    assert published[0].event_ids == [batch.panic_id]
    acked = [e for ack in published for e in ack.event_ids]
    assert len(acked) == len(set(acked)) == BACKGROUND + 1
    # The broker heard of the press first too, and of every message exactly once.
    assert batch.acked[0] == batch.sites[17]
    assert sorted(batch.acked) == batch.sites


def test_background_without_presses_is_one_transaction(
    db_url: str, generated_district: Directory
) -> None:
    batch, _, stored, transactions = run(db_url, generated_district, panic_at=None)
    assert (stored, transactions) == (BACKGROUND + 1, 1)
    assert sorted(batch.acked) == batch.sites


def test_a_failed_background_is_retried_without_the_press(
    db_url: str, generated_district: Directory
) -> None:
    batch, published, stored, _ = run(db_url, generated_district, panic_at=3, fail_once=True)
    assert stored == BACKGROUND + 1
    acked = [e for ack in published for e in ack.event_ids]
    assert batch.panic_id is not None
    assert acked.count(batch.panic_id) == 1
    assert len(acked) == len(set(acked)) == BACKGROUND + 1
    assert sorted(batch.acked) == batch.sites  # each message acknowledged to the broker once
