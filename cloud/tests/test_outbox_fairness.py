"""An outbox pass gives the event loop back between rows, even when its sink never waits
(an alert that no provider can send, on SQLite, which runs in the loop's thread): the intake
shares that loop, and a panic must not queue behind a pass of twenty technician alerts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from kentongan_cloud.clock import ManualClock
from kentongan_cloud.outbox.worker import OutboxWorker, Sinks
from kentongan_cloud.ports import FleetAlert
from kentongan_cloud.records import OutboxItem
from kentongan_cloud.settings import OutboxSettings
from kentongan_cloud.store.db import Database

ROWS = 12


class InstantAlerts:
    """A fleet-alert sink that returns without ever suspending."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def alert(self, alert: FleetAlert, idempotency_key: str) -> None:
        self.keys.append(idempotency_key)


def test_a_pass_of_alerts_lets_other_tasks_run_between_rows(db_url: str) -> None:
    clock = ManualClock()
    at = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)

    async def go() -> tuple[list[int], list[str]]:
        db = Database(db_url)
        try:
            await db.create_schema()
            rows = [
                OutboxItem(
                    "fleet_alert",
                    f"fleet:gw-{i}:battery_low",
                    FleetAlert(
                        gateway_id=f"gw-{i}",
                        post_name=f"Pos {i}",
                        kecamatan="kc",
                        kampung="kp",
                        kind="battery_low",
                        raised_at=at,
                        text="aki lemah",
                    ).model_dump_json(),
                )
                for i in range(ROWS)
            ]
            async with db.transaction() as tx:
                await tx.outbox.add(rows, clock.now())
            sink = InstantAlerts()
            worker = OutboxWorker(
                db, clock, OutboxSettings(), Sinks(fleet_alerts=sink), district="d"
            )
            # What another task (the intake) saw of the pass each time it got the loop.
            seen: list[int] = []

            async def other_task() -> None:
                while True:
                    seen.append(len(sink.keys))
                    await asyncio.sleep(0)

            ticker = asyncio.create_task(other_task())
            await asyncio.sleep(0)
            try:
                assert await worker.drain_once() == ROWS
            finally:
                ticker.cancel()
            return seen, sink.keys
        finally:
            await db.close()

    seen, delivered = asyncio.run(go())
    assert len(delivered) == ROWS
    # The other task ran while the pass was half done, not only before and after it.
    assert set(range(1, ROWS)) <= set(seen)
