"""Many-row writes (`store.bulk`) keep every value as the plain statements would: NULLs, a
column that is NULL in every row, JSON, UTC timestamps; conflicts skipped; and on PostgreSQL
the one-statement update matches only rows whose version still agrees, and the upsert
updates from the row as it was; an intake batch's sequence numbers fold into the sessions'
counters in one upsert on both databases. SQLite's executemany of plain tuples stores what
SQLAlchemy's own would, fills scalar defaults and refuses a row without a needed value."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from kentongan_cloud.errors import StaleWriteError
from kentongan_cloud.store.base import make_engine
from kentongan_cloud.store.bulk import (
    _compile,
    execute_many,
    insert_many,
    one_of,
    update_many,
    upsert_many,
)
from kentongan_cloud.store.db import Database
from kentongan_cloud.store.types import UtcDateTime
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

META = MetaData()


def post_columns() -> list[Column[Any]]:
    return [
        Column("post_id", String(32), primary_key=True),
        Column("seq", BigInteger, nullable=False),
        Column("seen_at", UtcDateTime, nullable=False),
        Column("battery", Float),
        Column("online", Boolean, nullable=False),
        Column("alarms", JSON),
        Column("note", String(200)),
        Column("version", BigInteger, nullable=False),
    ]


POSTS = Table("bulk_posts", META, *post_columns())
T0 = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
WIB = timezone(timedelta(hours=7))


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

    async def go(stale: str | None, *, create: bool) -> None:
        async with transaction(db_url) as conn:
            if create:
                await conn.run_sync(META.create_all)
                await insert_many(conn, POSTS, rows(5))
            await update_many(
                conn,
                POSTS,
                changes,
                match={"b_id": "post_id", "b_version": "version"},
                set_sql={"seq": "greatest(t.seq, u.seq)"},
                stale=stale,
            )

    if not db_url.startswith("postgresql"):
        with pytest.raises(ValueError, match="PostgreSQL"):
            asyncio.run(go(None, create=True))
        return
    asyncio.run(go(None, create=True))
    stored = asyncio.run(read_back(db_url))
    assert stored["pos-0003"]["version"] == 0
    assert stored["pos-0003"]["alarms"] == ["tamper", {"rt": 3}]
    for i in (0, 1, 2, 4):
        r = stored[f"pos-{i:04d}"]
        assert (r["seq"], r["alarms"], r["online"], r["version"]) == (2**40 + i, ["power"], True, 1)
    # With a version check, a row that did not match fails the write (and its transaction).
    with pytest.raises(StaleWriteError, match="moved on"):
        asyncio.run(go("a post moved on", create=False))


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


# --- SQLite's executemany of plain tuples (execute_many) ---------------------------------------

TWIN = Table("bulk_posts_twin", META, *post_columns())
SEEDED = Table(
    "bulk_seeded",
    META,
    Column("post_id", String(32), primary_key=True),
    Column("attempts", BigInteger, nullable=False, default=7),  # a scalar default
    Column("stamp", UtcDateTime, default=lambda: T0),  # a default computed per row
)


def raw(path: Path, table: str) -> list[tuple[Any, ...]]:
    """The stored values as SQLite holds them (text timestamps, JSON text, 0/1), no types."""
    lite = sqlite3.connect(path)
    try:
        return lite.execute(f"SELECT * FROM {table} ORDER BY post_id").fetchall()  # noqa: S608
    finally:
        lite.close()


def test_execute_many_stores_on_sqlite_exactly_what_sqlalchemy_would(tmp_path: Path) -> None:
    path = tmp_path / "twin.db"

    async def go() -> None:
        async with transaction(f"sqlite+aiosqlite:///{path}") as conn:
            await conn.run_sync(META.create_all)
            given = rows(120)
            given[1]["seen_at"] = given[1]["seen_at"].astimezone(WIB)  # converted to UTC
            given[2]["seen_at"] = T0.replace(year=2031, microsecond=999_999)
            await conn.execute(insert(POSTS), given)
            assert await execute_many(conn, insert(TWIN), given) == 120
            naive = rows(1, start=500)
            naive[0]["seen_at"] = naive[0]["seen_at"].replace(tzinfo=None)
            with pytest.raises(ValueError, match="naive"):
                await execute_many(conn, insert(TWIN), naive)

    asyncio.run(go())
    theirs, ours = raw(path, "bulk_posts"), raw(path, "bulk_posts_twin")
    assert len(ours) == 120
    assert ours == theirs  # same text for every timestamp, JSON and boolean


def test_execute_many_fills_scalar_defaults_counts_matches_and_refuses_missing_values(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'seeded.db'}"
    moved = (
        update(POSTS)
        .where(POSTS.c.post_id == bindparam("b_id"), POSTS.c.version == bindparam("b_version"))
        .values(seq=bindparam("seq"), version=bindparam("version"))
    )

    async def go() -> int:
        async with transaction(url) as conn:
            await conn.run_sync(META.create_all)
            await insert_many(conn, POSTS, rows(5))
            given: list[dict[str, Any]] = [
                {"post_id": "a", "stamp": T0},
                {"post_id": "b", "stamp": None},
            ]
            await execute_many(conn, insert(SEEDED), given)
            got = await conn.execute(select(SEEDED.c.attempts).order_by(SEEDED.c.post_id))
            assert [r[0] for r in got] == [7, 7]
            with pytest.raises(ValueError, match="'stamp'"):
                await execute_many(conn, insert(SEEDED), [{"post_id": "c"}])
            changes = [
                {"b_id": f"pos-{i:04d}", "b_version": 0 if i != 3 else 9, "seq": i, "version": 1}
                for i in range(5)
            ]
            return await execute_many(conn, moved, changes)

    assert asyncio.run(go()) == 4  # pos-0003's version did not match


def test_execute_many_needs_a_positional_paramstyle() -> None:
    dialect = make_engine("postgresql+psycopg://kentongan@127.0.0.1:1/none").dialect
    with pytest.raises(ValueError, match="positional"):
        _compile(dialect, insert(POSTS), ("post_id",))


def test_bulk_writes_keep_awkward_text_and_local_times_exactly(db_url: str) -> None:
    # Rows travel to PostgreSQL as one JSON text: quotes, backslashes, control characters,
    # non-ASCII and a JSON-looking string must come back as they went, and a +07:00 time
    # as the same instant.
    awkward = ['kutip " dan \\ garis', "tab\tbaris\nbaru", "sirene 🚨 Pos Ronda", '{"a": 1}', ""]
    batch = rows(len(awkward))
    for r, note in zip(batch, awkward, strict=True):
        r["note"] = note
        r["seen_at"] = r["seen_at"].astimezone(WIB)

    async def go() -> None:
        async with transaction(db_url) as conn:
            await conn.run_sync(META.create_all)
            await insert_many(conn, POSTS, batch)

    asyncio.run(go())
    stored = asyncio.run(read_back(db_url))
    for r in batch:
        got = stored[r["post_id"]]
        assert got["note"] == r["note"]
        assert got["seen_at"] == r["seen_at"]
        assert got["alarms"] == r["alarms"]


def test_one_of_finds_the_rows_and_is_one_statement_for_any_count(db_url: str) -> None:
    wanted = [f"pos-{i:04d}" for i in range(0, 300, 2)] + ["tidak-ada", 'kutip "x"']

    async def go() -> tuple[set[str], set[str]]:
        async with transaction(db_url) as conn:
            await conn.run_sync(META.create_all)
            await insert_many(conn, POSTS, rows(300))

            def ids(values: list[str]) -> Any:
                return select(POSTS.c.post_id).where(one_of(conn, POSTS.c.post_id, values))

            found = {r[0] for r in await conn.execute(ids(wanted))}
            few = {r[0] for r in await conn.execute(ids(wanted[:3]))}
            if conn.dialect.name == "postgresql":
                # The SQL the server sees does not depend on how many values there are.
                sql = [
                    str(
                        ids(v).compile(
                            dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
                        )
                    )
                    for v in (wanted, wanted[:3])
                ]
                assert sql[0] == sql[1]
            return found, few

    found, few = asyncio.run(go())
    assert found == {f"pos-{i:04d}" for i in range(0, 300, 2)}
    assert few == {"pos-0000", "pos-0002", "pos-0004"}
