"""The cloud outbox: side effects written in the incident's transaction, delivered later.

Workers claim rows with a lease (a token and an expiry) in one conditional UPDATE, so two
workers never hold the same row; a worker that dies leaves a lease that simply runs out.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.records import OutboxItem, OutboxKind, OutboxRow
from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.bulk import insert_many
from kentongan_cloud.store.types import UtcDateTime

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_token", String(32)),
    Column("lease_until", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("voided_at", UtcDateTime),
    Column("failed_at", UtcDateTime),
    Column("last_error", Text),
)
PENDING = (
    outbox.c.delivered_at.is_(None),
    outbox.c.voided_at.is_(None),
    outbox.c.failed_at.is_(None),
)
# The rows not yet done, in the order claims take them (due first, then oldest); the kind is
# checked inside the index. Partial, so a claim walks the pending rows only, however many
# were delivered, and no other index gives that order, so PostgreSQL cannot trade it for a
# walk of the primary key through every delivered row, which it did when its statistics
# said many rows were pending (they are a minute old at best, and the queue changes within
# seconds). Its ordered scan also marks the entries of rows delivered since as dead and
# skips them next time; the index of due rows by kind before it was read by bitmap scans,
# which never do, so each claim re-read every row delivered since the last vacuum.
Index(
    "ix_outbox_pending_due",
    outbox.c.next_attempt_at,
    outbox.c.id,
    outbox.c.kind,
    postgresql_where=and_(*PENDING),
    sqlite_where=and_(*PENDING),
)


class OutboxRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, items: Sequence[OutboxItem], now: datetime) -> None:
        """Queue side effects; an item whose key is already queued is left as it was."""
        if not items:
            return
        rows = [
            {
                "kind": i.kind,
                "idempotency_key": i.key,
                "payload": i.payload,
                "created_at": now,
                "next_attempt_at": i.not_before or now,
                "attempts": 0,
            }
            for i in items
        ]
        await insert_many(self.conn, outbox, rows, skip_conflicts_on=["idempotency_key"])

    async def claim(
        self, kinds: Sequence[OutboxKind], now: datetime, limit: int, lease_s: float
    ) -> list[OutboxRow]:
        """Lease up to `limit` due rows of these kinds to this caller."""
        token = secrets.token_hex(16)
        due = (
            *PENDING,
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        # Picked once (MATERIALIZED: with stale statistics PostgreSQL ran the picking
        # again for every pending row); rows another worker is claiming right now are
        # skipped, and one it claimed since this statement began fails the re-check of the
        # lock and is left out.
        picked = (
            select(outbox.c.id)
            .where(outbox.c.kind.in_(kinds), *due)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED")
        )
        # RETURNING: the leased rows come back at once, with no search by token.
        rows = await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == picked.c.id)
            .values(lease_token=token, lease_until=now + timedelta(seconds=lease_s))
            .returning(
                outbox.c.id,
                outbox.c.kind,
                outbox.c.idempotency_key,
                outbox.c.payload,
                outbox.c.attempts,
                outbox.c.created_at,
            )
        )
        return sorted(
            (
                OutboxRow(
                    r.id, r.kind, r.idempotency_key, r.payload, r.attempts, r.created_at, token
                )
                for r in rows
            ),
            key=lambda r: r.id,
        )

    async def purge_delivered(self, before: datetime, limit: int | None = None) -> int:
        """Remove rows delivered before `before`, at most `limit` of them; returns how many."""
        old = (outbox.c.delivered_at.is_not(None), outbox.c.delivered_at < before)
        if limit is None:
            res = await self.conn.execute(delete(outbox).where(*old))
        else:
            some = select(outbox.c.id).where(*old).limit(limit)
            res = await self.conn.execute(delete(outbox).where(outbox.c.id.in_(some)))
        return int(res.rowcount or 0)

    async def delivered(self, row: OutboxRow, now: datetime) -> None:
        await self.delivered_many([row], now)

    async def delivered_many(self, rows: Sequence[OutboxRow], now: datetime) -> None:
        """Mark rows delivered, each only while this worker's lease on it holds."""
        if not rows:
            return
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == bindparam("b_id"), outbox.c.lease_token == bindparam("b_lease"))
            .values(delivered_at=now, lease_until=None, attempts=outbox.c.attempts + 1),
            [{"b_id": r.id, "b_lease": r.lease_token} for r in rows],
        )

    async def release(self, rows: Sequence[OutboxRow]) -> None:
        """Give leased rows back untouched: they were never tried (the broker link fell)."""
        if not rows:
            return
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == bindparam("b_id"), outbox.c.lease_token == bindparam("b_lease"))
            .values(lease_until=None),
            [{"b_id": r.id, "b_lease": r.lease_token} for r in rows],
        )

    async def retry_later(
        self, row: OutboxRow, now: datetime, delay_s: float, error: str, *, give_up: bool
    ) -> None:
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id, outbox.c.lease_token == row.lease_token)
            .values(
                attempts=outbox.c.attempts + 1,
                next_attempt_at=now + timedelta(seconds=delay_s),
                lease_until=None,
                last_error=error[:1000],
                failed_at=now if give_up else None,
            )
        )

    async def void(self, key: str, now: datetime) -> bool:
        """Withdraw a row not yet delivered nor being delivered; False if too late."""
        res = await self.conn.execute(
            update(outbox)
            .where(
                outbox.c.idempotency_key == key,
                outbox.c.delivered_at.is_(None),
                outbox.c.voided_at.is_(None),
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
            )
            .values(voided_at=now)
        )
        return bool(res.rowcount == 1)

    async def state_of(self, key: str) -> str | None:
        """pending, delivered, voided or failed; None when no such key."""
        row = (
            await self.conn.execute(select(outbox).where(outbox.c.idempotency_key == key))
        ).first()
        if row is None:
            return None
        if row.delivered_at is not None:
            return "delivered"
        if row.voided_at is not None:
            return "voided"
        if row.failed_at is not None:
            return "failed"
        return "pending"

    async def attempts_of(self, key: str) -> int | None:
        """Failed delivery attempts so far; None when no such key."""
        row = (
            await self.conn.execute(
                select(outbox.c.attempts).where(outbox.c.idempotency_key == key)
            )
        ).first()
        return None if row is None else int(row.attempts)

    async def pending_counts(self) -> dict[str, int]:
        rows = await self.conn.execute(
            select(outbox.c.kind, func.count()).where(*PENDING).group_by(outbox.c.kind)
        )
        return {r[0]: int(r[1]) for r in rows}
