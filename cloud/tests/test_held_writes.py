"""Bulk writes held to the end of a block (`store.held`): on PostgreSQL they go as one
statement, a child row may point at a parent written in the same statement, a second write
to a table sends what was held first, a version check still fails its transaction, a read
inside the block is refused, and an error inside sends nothing. SQLite writes at once and
ends with the same rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from kentongan_cloud.errors import StaleWriteError
from kentongan_cloud.store.bulk import insert_many, update_many, upsert_many
from kentongan_cloud.store.db import Database
from kentongan_cloud.store.held import holding
from sqlalchemy import BigInteger, Column, ForeignKey, MetaData, String, Table, event, select
from sqlalchemy.ext.asyncio import AsyncConnection

META = MetaData()
PARENTS = Table(
    "held_parents",
    META,
    Column("id", String(16), primary_key=True),
    Column("open_key", String(32), unique=True),
    Column("version", BigInteger, nullable=False),
)
CHILDREN = Table(
    "held_children",
    META,
    Column("id", String(16), primary_key=True),
    Column("parent_id", String(16), ForeignKey("held_parents.id"), nullable=False),
)
COUNTERS = Table(
    "held_counters",
    META,
    Column("key", String(16), primary_key=True),
    Column("n", BigInteger, nullable=False),
)


class Run:
    """A database with the tables above, counting the statements each transaction sends."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.pg = self.db.dialect == "postgresql"
        self.statements: list[str] = []
        event.listen(self.db.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        async with self.db.engine.begin() as conn:
            self.statements.clear()
            yield conn

    async def setup(self) -> None:
        async with self.db.engine.begin() as conn:
            await conn.run_sync(META.create_all)
            await insert_many(conn, PARENTS, [{"id": "p0", "open_key": "k0", "version": 0}])

    async def rows(self, table: Table) -> list[tuple[Any, ...]]:
        async with self.db.engine.begin() as conn:
            got = await conn.execute(select(table).order_by(table.c[next(iter(table.c.keys()))]))
            return [tuple(r) for r in got]


def scenario(url: str, body: Any) -> Any:
    async def go() -> Any:
        run = Run(url)
        try:
            await run.setup()
            return await body(run)
        finally:
            await run.db.close()

    return asyncio.run(go())


def test_writes_to_several_tables_go_as_one_statement(db_url: str) -> None:
    async def body(run: Run) -> tuple[int, Any, Any, Any]:
        async with run.tx() as conn:
            async with holding(conn):
                await insert_many(conn, PARENTS, [{"id": "p1", "open_key": "k1", "version": 0}])
                await insert_many(
                    conn, CHILDREN, [{"id": f"c{i}", "parent_id": "p1"} for i in range(3)]
                )
                if run.pg:
                    await upsert_many(
                        conn,
                        COUNTERS,
                        [{"key": "a", "n": 1}],
                        key=("key",),
                        set_sql={"n": "t.n + excluded.n"},
                    )
                else:
                    await insert_many(conn, COUNTERS, [{"key": "a", "n": 1}])
            sent = len(run.statements)
        return sent, await run.rows(PARENTS), await run.rows(CHILDREN), await run.rows(COUNTERS)

    sent, parents, children, counters = scenario(db_url, body)
    assert parents == [("p0", "k0", 0), ("p1", "k1", 0)]
    assert children == [("c0", "p1"), ("c1", "p1"), ("c2", "p1")]
    assert counters == [("a", 1)]
    if db_url.startswith("postgresql"):
        assert sent == 1
    else:
        assert sent == 3  # SQLite: each write at once


def test_a_second_write_to_a_table_sends_the_held_ones_first(db_url: str) -> None:
    async def body(run: Run) -> tuple[list[str], Any]:
        async with run.tx() as conn, holding(conn):
            await insert_many(conn, PARENTS, [{"id": "p1", "open_key": "k1", "version": 0}])
            await insert_many(conn, CHILDREN, [{"id": "c1", "parent_id": "p1"}])
            # p2 takes k1 only after p1 gave it up: the two writes to parents must not go
            # in one statement (the second would not see the first).
            if run.pg:
                await update_many(
                    conn,
                    PARENTS,
                    [{"b_id": "p1", "open_key": None}],
                    match={"b_id": "id"},
                )
            else:
                await conn.execute(
                    PARENTS.update().where(PARENTS.c.id == "p1").values(open_key=None)
                )
            await insert_many(conn, PARENTS, [{"id": "p2", "open_key": "k1", "version": 0}])
        return list(run.statements), await run.rows(PARENTS)

    statements, parents = scenario(db_url, body)
    assert parents == [("p0", "k0", 0), ("p1", None, 0), ("p2", "k1", 0)]
    if db_url.startswith("postgresql"):
        assert len(statements) == 3
        assert statements[0].startswith("WITH ")  # parents and children together
        assert statements[1].startswith("UPDATE")
        assert statements[2].startswith("INSERT")


def test_a_failed_version_check_fails_the_transaction_at_the_end(db_url: str) -> None:
    pg = db_url.startswith("postgresql")

    async def stale_write(run: Run) -> None:
        async with run.tx() as conn, holding(conn):
            await insert_many(conn, CHILDREN, [{"id": "c1", "parent_id": "p0"}])
            await update_many(
                conn,
                PARENTS,
                [{"b_id": "p0", "b_version": 5, "version": 6}],
                match={"b_id": "id", "b_version": "version"},
                stale="p0 moved on",
            )
            assert run.statements == []  # held until the end of the block

    async def body(run: Run) -> Any:
        # update_many is PostgreSQL's (SQLite callers check their own executemany's count).
        with pytest.raises(StaleWriteError if pg else ValueError, match=r"moved on|PostgreSQL"):
            await stale_write(run)
        return await run.rows(PARENTS), await run.rows(CHILDREN)

    parents, children = scenario(db_url, body)
    assert parents == [("p0", "k0", 0)]
    assert children == []  # rolled back with the failed check


def test_a_read_inside_the_block_is_refused(db_url: str) -> None:
    async def body(run: Run) -> Any:
        async with run.tx() as conn, holding(conn):
            await insert_many(conn, PARENTS, [{"id": "p1", "open_key": "k1", "version": 0}])
            # On PostgreSQL the read would not see p1: refused rather than wrong.
            return (await conn.execute(select(PARENTS.c.id))).scalars().all()

    if db_url.startswith("postgresql"):
        with pytest.raises(RuntimeError, match="would not see them"):
            scenario(db_url, body)
    else:
        assert sorted(scenario(db_url, body)) == ["p0", "p1"]


def test_an_error_inside_the_block_sends_nothing(db_url: str) -> None:
    async def failing(run: Run) -> None:
        async with run.tx() as conn, holding(conn):
            await insert_many(conn, PARENTS, [{"id": "p1", "open_key": "k1", "version": 0}])
            raise KeyError("p2")

    async def body(run: Run) -> Any:
        with pytest.raises(KeyError):
            await failing(run)
        # The connection went back to the pool with nothing held: the next transaction on
        # it reads and writes as usual.
        async with run.tx() as conn:
            await insert_many(conn, PARENTS, [{"id": "p3", "open_key": None, "version": 0}])
            found = (await conn.execute(select(PARENTS.c.id))).scalars().all()
        return sorted(found), await run.rows(PARENTS)

    found, parents = scenario(db_url, body)
    assert found == ["p0", "p3"]
    assert [p[0] for p in parents] == ["p0", "p3"]
