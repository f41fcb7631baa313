"""Intake tables: events (event_id unique forever), sequence tracking, rejections, dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.records import EventRecord, SessionSeq
from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.bulk import insert_many, update_many
from kentongan_cloud.store.types import UtcDateTime, row_of

events = Table(
    "events",
    metadata,
    # The primary key is the idempotency rule: an event_id is stored once, forever.
    Column("event_id", String(36), primary_key=True),
    Column("gateway_id", String(32)),
    Column("district", String(32), nullable=False),
    Column("source", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("input", String(32), nullable=False),
    Column("incident_type", String(32)),
    Column("status", String(16), nullable=False),
    Column("historical", Boolean, nullable=False),
    Column("session_id", String(32), nullable=False),
    Column("boot_id", String(36), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("monotonic_ms", BigInteger, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("clock_synced", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("incident_id", String(36)),
    Column("outcome", String(32), nullable=False),
    Column("cancels", String(36)),
    Column("value", Float),
    Column("lat", Float),
    Column("lon", Float),
    Column("detail", Text),
    Index("ix_events_gateway_session_seq", "gateway_id", "session_id", "seq"),
    Index("ix_events_incident_id", "incident_id"),
)

intake_sessions = Table(
    "intake_sessions",
    metadata,
    Column("gateway_id", String(32), primary_key=True),
    Column("session_id", String(32), primary_key=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("max_seq", BigInteger, nullable=False),
    Column("received", Integer, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
)

rejections = Table(
    "intake_rejections",
    metadata,
    Column("reason", String(32), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Column("last_detail", Text, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)


def _event(row: object) -> EventRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return EventRecord(**{k: m[k] for k in EventRecord.__dataclass_fields__})


class IntakeRepo:
    """Events, sequence gaps, rejection counters and the dead-letter table."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = await self.conn.execute(select(events.c.event_id).where(events.c.event_id.in_(ids)))
        return {r[0] for r in rows}

    async def add_events(self, records: Sequence[EventRecord]) -> None:
        if records:
            await insert_many(self.conn, events, [row_of(r) for r in records])

    async def get_event(self, event_id: str) -> EventRecord | None:
        row = (await self.conn.execute(select(events).where(events.c.event_id == event_id))).first()
        return None if row is None else _event(row)

    async def events_of(self, incident_id: str) -> list[EventRecord]:
        rows = await self.conn.execute(
            select(events)
            .where(events.c.incident_id == incident_id)
            .order_by(events.c.received_at, events.c.seq)
        )
        return [_event(r) for r in rows]

    async def count_events(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(events))).scalar_one())

    async def track_seqs(self, seqs: dict[tuple[str, str], list[int]], now: datetime) -> None:
        """Fold a batch's sequence numbers into each session's first/max/received counters.

        One SELECT for the sessions already known, then one executemany each for updates and
        inserts; the update is relative (received + n, min, max) so concurrent workers add up."""
        if not seqs:
            return
        t = intake_sessions
        keys = sorted(seqs)
        rows = await self.conn.execute(
            select(t.c.gateway_id, t.c.session_id).where(
                tuple_(t.c.gateway_id, t.c.session_id).in_(keys)
            )
        )
        known = {(r[0], r[1]) for r in rows}
        old = [
            {"b_gid": g, "b_sid": s, "b_lo": min(v), "b_hi": max(v), "b_n": len(v), "b_at": now}
            for (g, s), v in ((k, seqs[k]) for k in keys if k in known)
        ]
        new = [
            {
                "gateway_id": g,
                "session_id": s,
                "first_seq": min(v),
                "max_seq": max(v),
                "received": len(v),
                "last_at": now,
            }
            for (g, s), v in ((k, seqs[k]) for k in keys if k not in known)
        ]
        if old and self.conn.dialect.name == "postgresql":
            await update_many(
                self.conn,
                t,
                [
                    {
                        "b_gid": r["b_gid"],
                        "b_sid": r["b_sid"],
                        "first_seq": r["b_lo"],
                        "max_seq": r["b_hi"],
                        "received": r["b_n"],
                        "last_at": r["b_at"],
                    }
                    for r in old
                ],
                match={"b_gid": "gateway_id", "b_sid": "session_id"},
                set_sql={
                    "first_seq": "least(t.first_seq, u.first_seq)",
                    "max_seq": "greatest(t.max_seq, u.max_seq)",
                    "received": "t.received + u.received",
                },
            )
        elif old:
            stmt = (
                update(t)
                .where(t.c.gateway_id == bindparam("b_gid"), t.c.session_id == bindparam("b_sid"))
                .values(
                    first_seq=func.min(t.c.first_seq, bindparam("b_lo")),
                    max_seq=func.max(t.c.max_seq, bindparam("b_hi")),
                    received=t.c.received + bindparam("b_n"),
                    last_at=bindparam("b_at"),
                )
            )
            await self.conn.execute(stmt, old)
        await insert_many(self.conn, t, new)

    async def sessions(self, gateway_id: str | None = None) -> list[SessionSeq]:
        q = select(intake_sessions).order_by(intake_sessions.c.last_at.desc())
        if gateway_id is not None:
            q = q.where(intake_sessions.c.gateway_id == gateway_id)
        rows = await self.conn.execute(q)
        return [SessionSeq(**dict(r._mapping)) for r in rows]

    async def count_rejections(self, counts: dict[str, tuple[int, str]], now: datetime) -> None:
        for reason, (n, detail) in counts.items():
            res = await self.conn.execute(
                update(rejections)
                .where(rejections.c.reason == reason)
                .values(count=rejections.c.count + n, last_at=now, last_detail=detail[:500])
            )
            if res.rowcount == 0:
                await self.conn.execute(
                    insert(rejections).values(
                        reason=reason, count=n, last_at=now, last_detail=detail[:500]
                    )
                )

    async def rejection_counts(self) -> dict[str, int]:
        rows = await self.conn.execute(select(rejections.c.reason, rejections.c.count))
        return {r[0]: int(r[1]) for r in rows}

    async def dead_letter(self, topic: str, payload: bytes, error: str, now: datetime) -> None:
        await self.conn.execute(
            insert(dead_letters).values(
                topic=topic, payload=payload, error=error[:2000], received_at=now
            )
        )

    async def dead_letters(self, limit: int = 100) -> list[tuple[int, str, bytes, str, datetime]]:
        rows = await self.conn.execute(
            select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
        )
        return [(r.id, r.topic, bytes(r.payload), r.error, r.received_at) for r in rows]
