"""The outbox table on both databases: a worker claims only the kinds it delivers (rows of
other kinds never block it), delivered rows are marked in one statement, and rows delivered
over a week ago are purged; the commands a pass published or found expired are marked in one
statement."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from kentongan_cloud.records import CommandRecord, OutboxItem
from kentongan_cloud.store.db import Database


def test_claim_by_kind_mark_delivered_and_purge(db_url: str) -> None:
    async def go() -> None:
        db = Database(db_url)
        try:
            await db.create_schema()
            now = datetime.now(UTC)
            old = now - timedelta(days=10)
            points = [OutboxItem("point", f"point:{i}", "{}") for i in range(300)]
            cmds = [OutboxItem("command", f"cmd:{i}", "{}") for i in range(3)]
            async with db.transaction() as tx:
                await tx.outbox.add([*points, *cmds], old)
            async with db.transaction() as tx:
                first = await tx.outbox.claim(["command"], now, 2, 30)
                rest = await tx.outbox.claim(["command"], now, 10, 30)
            assert [r.key for r in first] == ["cmd:0", "cmd:1"]
            assert [r.key for r in rest] == ["cmd:2"]
            async with db.transaction() as tx:
                assert await tx.outbox.claim(["command"], now, 10, 30) == []  # leased
                await tx.outbox.delivered_many(first, now - timedelta(days=8))
                await tx.outbox.delivered_many(rest, now)
            async with db.transaction() as tx:
                assert await tx.outbox.purge_delivered(now - timedelta(days=7)) == 2
                assert await tx.outbox.purge_delivered(now - timedelta(days=7)) == 0
                counts = await tx.outbox.pending_counts()
            assert counts.get("point") == 300
            assert not counts.get("command")
        finally:
            await db.close()

    asyncio.run(go())


def test_commands_of_a_pass_are_marked_together(db_url: str) -> None:
    async def go() -> None:
        db = Database(db_url)
        try:
            await db.create_schema()
            now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
            recs = [
                CommandRecord(f"c{i}", f"gw-{i}", "siren_on", "a1", 1, now, now, "inc-1")
                for i in range(4)
            ]
            async with db.transaction() as tx:
                await tx.commands.add(recs)
            sent_at = now + timedelta(seconds=2)
            async with db.transaction() as tx:
                await tx.commands.mark([("c0", "sent"), ("c1", "expired"), ("c3", "sent")], sent_at)
                await tx.commands.mark([], sent_at)
                got = await tx.commands.get_many(["c0", "c1", "c2", "c3"])
            assert {k: (r.outcome, r.sent_at) for k, r in got.items()} == {
                "c0": ("sent", sent_at),
                "c1": ("expired", None),
                "c2": ("pending", None),
                "c3": ("sent", sent_at),
            }
        finally:
            await db.close()

    asyncio.run(go())
