"""Many-row writes (`store.bulk`) keep every value as the plain statements would: NULLs, a
column that is NULL in every row, JSON, UTC timestamps; conflicts skipped; and on PostgreSQL
the one-statement update matches only rows whose version still agrees, and the upsert
updates from the row as it was; an intake batch's sequence numbers fold into the sessions'
counters in one upsert on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kentongan_cloud.store.base import make_engine
from kentongan_cloud.store.bulk import insert_many, update_many, upsert_many
from kentongan_cloud.store.db import Database
from kentongan_cloud.store.types import UtcDateTime
from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

META = MetaData()
POSTS = Table(
    "bulk_posts",
    META,
    Column("post_id", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("battery", Float),
    Column("online", Boolean, nullable=False),
    Column("alarms", JSON),
    Column("note", String(200)),
    Column("version", BigInteger, nullable=False),
)
T0 = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "post_id": f"pos-{i:04d}",
            "seq": 2**40 + i,
            "seen_at": T0 + timedelta(milliseconds=i),
            "battery": None if i % 3 == 0 else 12.5 + i / 10,
            "online": i % 2 == 0,
            "alarms": None if i % 4 == 0 else ["tamper", {"rt": i}],
            "note": None,  # NULL in every row: the array's type comes from the column
            "version": 0,
        }
        for i in range(start, start + n)
    ]


@asynccontextmanager
async def transaction(url: str) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction on a fresh engine, disposed afterwards."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            yield conn
    finally:
        await engine.dispose()


async def read_back(url: str) -> dict[str, dict[str, Any]]:
    async with transaction(url) as conn:
        got = await conn.execute(select(POSTS).order_by(POSTS.c.post_id))
        return {r.post_id: dict(r._mapping) for r in got}


def test_insert_many_keeps_every_value_and_skips_conflicts(db_url: str) -> None:
    async def go() -> None:
        async with transaction(db_url) as conn:
            await conn.run_sync(META.create_all)
            await insert_many(conn, POSTS, rows(300))
            await insert_many(conn, POSTS, [])
            again = rows(10, start=295)
            for r in again:
                r["note"] = "second try"
            await insert_many(conn, POSTS, again, skip_conflicts_on=["post_id"])

    asyncio.run(go())
    stored = asyncio.run(read_back(db_url))
    assert len(stored) == 305
    want = {r["post_id"]: r for r in rows(300)}
    for pid, r in want.items():
        assert stored[pid] == r, pid
    assert stored["pos-0295"]["note"] is None  # already there: left as it was
    assert stored["pos-0304"]["note"] == "second try"


def test_update_many_matches_by_key_and_version(db_url: str) -> None:
    async def go() -> int:
        async with transaction(db_url) as conn:
            await conn.run_sync(META.create_all)
            await insert_many(conn, POSTS, rows(5))
            changes = [
                {
                    "b_id": f"pos-{i:04d}",
                    "b_version": 0 if i != 3 else 7,  # another worker moved pos-0003 on
                    "seq": i + 100,
                    "alarms": ["power"],
                    "online": True,
                    "version": 1,
                }
                for i in range(5)
            ]
            return await update_many(
                conn,
                POSTS,
                changes,
                match={"b_id": "post_id", "b_version": "version"},
                set_sql={"seq": "greatest(t.seq, u.seq)"},
            )

    if not db_url.startswith("postgresql"):
        with pytest.raises(ValueError, match="PostgreSQL"):
            asyncio.run(go())
        return
    assert asyncio.run(go()) == 4
    stored = asyncio.run(read_back(db_url))
    assert stored["pos-0003"]["version"] == 0
    assert stored["pos-0003"]["alarms"] == ["tamper", {"rt": 3}]
    for i in (0, 1, 2, 4):
        r = stored[f"pos-{i:04d}"]
        assert (r["seq"], r["alarms"], r["online"], r["version"]) == (2**40 + i, ["power"], True, 1)


def test_upsert_many_inserts_new_rows_and_updates_from_the_old_one(db_url: str) -> None:
    async def go() -> None:
        async with transaction(db_url) as conn:
            await conn.run_sync(META.create_all)
            await insert_many(conn, POSTS, rows(3))
            again = rows(2, start=2)  # pos-0002 is there, pos-0003 is new
            for r in again:
                r["seq"], r["note"] = 5, "upserted"
            await upsert_many(
                conn,
                POSTS,
                again,
                key=("post_id",),
                set_sql={"seq": "t.seq + excluded.seq", "note": "excluded.note"},
            )

    if not db_url.startswith("postgresql"):
        with pytest.raises(ValueError, match="PostgreSQL"):
            asyncio.run(go())
        return
    asyncio.run(go())
    stored = asyncio.run(read_back(db_url))
    assert len(stored) == 4
    assert (stored["pos-0002"]["seq"], stored["pos-0002"]["note"]) == (2**40 + 2 + 5, "upserted")
    assert stored["pos-0002"]["alarms"] == ["tamper", {"rt": 2}]  # not in set_sql: kept
    assert (stored["pos-0003"]["seq"], stored["pos-0003"]["note"]) == (5, "upserted")
    assert stored["pos-0001"] == rows(3)[1]


def test_sequence_numbers_fold_into_each_session(db_url: str) -> None:
    async def go() -> dict[tuple[str, str], tuple[int, int, int, datetime]]:
        db = Database(db_url)
        try:
            await db.create_schema()
            async with db.transaction() as tx:
                await tx.intake.track_seqs({("a", "s1"): [3, 4], ("b", "s1"): [1]}, T0)
            later = T0 + timedelta(seconds=5)
            async with db.transaction() as tx:
                await tx.intake.track_seqs({("a", "s1"): [9, 1], ("a", "s2"): [5]}, later)
            async with db.transaction() as tx:
                got = await tx.intake.sessions()
            return {
                (s.gateway_id, s.session_id): (s.first_seq, s.max_seq, s.received, s.last_at)
                for s in got
            }
        finally:
            await db.close()

    later = T0 + timedelta(seconds=5)
    assert asyncio.run(go()) == {
        ("a", "s1"): (1, 9, 4, later),
        ("b", "s1"): (1, 1, 1, T0),
        ("a", "s2"): (5, 5, 1, later),
    }
