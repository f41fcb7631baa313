"""The retention pass removes every outbox row delivered over a week ago, and nothing else,
a chunk per transaction: between chunks another transaction (the intake's) gets the database,
so a backlog of millions never holds it, or on SQLite the event loop, for long."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from kentongan_cloud.clock import ManualClock
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.fleet.sweeper import Sweeper
from kentongan_cloud.records import OutboxItem
from kentongan_cloud.settings import FleetSettings
from kentongan_cloud.store.db import Database
from kentongan_cloud.store.outbox import outbox
from sqlalchemy import func, select

NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
OLD, RECENT, PENDING = 2_500, 10, 5
CHUNK = 1_000


def test_retention_purges_old_deliveries_a_chunk_at_a_time(
    db_url: str, generated_district: Directory
) -> None:
    async def seed(db: Database) -> None:
        def items(prefix: str, n: int) -> list[OutboxItem]:
            return [OutboxItem("point", f"{prefix}:{i}", "{}") for i in range(n)]

        async with db.transaction() as tx:
            await tx.outbox.add(items("old", OLD), NOW - timedelta(days=9))
            await tx.outbox.add(items("recent", RECENT), NOW - timedelta(days=2))
            await tx.outbox.add(items("pending", PENDING), NOW - timedelta(days=30))
            leased = await tx.outbox.claim(["point"], NOW, OLD + RECENT + PENDING, 30)
            by_prefix = {p: [r for r in leased if r.key.startswith(p)] for p in ("old", "recent")}
            await tx.outbox.delivered_many(by_prefix["old"], NOW - timedelta(days=8))
            await tx.outbox.delivered_many(by_prefix["recent"], NOW - timedelta(days=1))
            await tx.outbox.release([r for r in leased if r.key.startswith("pending")])

    async def rows(db: Database) -> int:
        async with db.transaction() as tx:
            return int(
                (await tx.conn.execute(select(func.count()).select_from(outbox))).scalar_one()
            )

    async def go() -> tuple[int, list[int], int]:
        db = Database(db_url)
        try:
            await db.create_schema()
            await seed(db)
            sweeper = Sweeper(
                db,
                generated_district,
                ManualClock(NOW),
                FleetSettings(),
                command_expiry_s=60,
                retention_days=30,
            )
            # What another task saw of the table each time it had a transaction meanwhile.
            seen: list[int] = []

            async def other_task() -> None:
                while True:
                    seen.append(await rows(db))

            watcher = asyncio.create_task(other_task())
            await asyncio.sleep(0)
            try:
                purged = await sweeper.retain(NOW, chunk=CHUNK)
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            return purged, seen, await rows(db)
        finally:
            await db.close()

    purged, seen, left = asyncio.run(go())
    assert purged == OLD
    assert left == RECENT + PENDING
    # Between chunks, not only before and after the whole purge.
    assert set(seen) & {RECENT + PENDING + OLD - CHUNK, RECENT + PENDING + OLD - 2 * CHUNK}
