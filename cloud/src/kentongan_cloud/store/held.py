"""PostgreSQL: a transaction's bulk writes held back and sent together as one statement.

A press's transaction wrote eight tables one statement after another, each a round trip
and then a turn in the event loop's queue before the next could go: on a busy loop that
was most of the press's wait (13 statements, p50 31 ms, 19 ms of it inside statements).
Inside `holding(conn)` the bulk writes (`store.bulk`'s insert_many, upsert_many and
update_many) are kept instead of run; at the end of the block they go as the
data-modifying CTEs of one statement, with the row counts the callers asked to check.

What keeps that safe:
- nothing else may run on the connection inside the block (a read would not see the held
  writes): any other statement there raises (`_refuse_others`), so a test shows it;
- a second write to a table already held sends what is held first, so one statement
  never writes a table twice (the second write would not see the first, and a row written
  twice in one statement is an error or a lost update);
- foreign keys hold: PostgreSQL checks them at the end of the statement, when every
  CTE's rows are there.
SQLite runs each write at once: its statements cost no round trip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kentongan_cloud.errors import StaleWriteError

_KEY = "kentongan.held_writes"
# The one parameter of each bulk statement (its rows as JSON); renamed per part here.
ROWS_PARAM = "rows"


@dataclass(frozen=True)
class _Part:
    table: str
    sql: str
    params: Mapping[str, Any]
    stale: str | None  # when set, every row must match; else StaleWriteError(stale)
    rows: int


@dataclass
class _Held:
    parts: list[_Part] = field(default_factory=list)
    sending: bool = False


async def write(
    conn: AsyncConnection,
    table: str,
    sql: str,
    params: Mapping[str, Any],
    *,
    rows: int,
    stale: str | None = None,
) -> None:
    """Run a bulk write of `rows` rows now, or hold it when inside `holding(conn)`. With
    `stale`, a write that matched fewer rows raises StaleWriteError(stale), now or when the
    held writes are sent."""
    held: _Held | None = conn.info.get(_KEY)
    part = _Part(table, sql, params, stale, rows)
    if held is None:
        await _run_one(conn, part)
        return
    if any(p.table == table for p in held.parts):
        await _send(conn, held)
    held.parts.append(part)


@asynccontextmanager
async def holding(conn: AsyncConnection) -> AsyncIterator[None]:
    """Hold the bulk writes made inside and send them as one statement at the end (on
    PostgreSQL; elsewhere a no-op). Only writes may run inside; on an error nothing held
    is sent (the transaction rolls back)."""
    if conn.dialect.name != "postgresql":
        yield
        return
    if _KEY in conn.info:
        msg = "writes are already held on this connection"
        raise RuntimeError(msg)
    held = _Held()
    conn.info[_KEY] = held
    try:
        yield
        await _send(conn, held)
    finally:
        conn.info.pop(_KEY, None)


def refuse_others(engine: AsyncEngine) -> None:
    """Make any statement other than the held writes' own raise inside `holding`."""
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_others)


def _refuse_others(conn: Connection, *_: Any) -> None:
    held: _Held | None = conn.info.get(_KEY)
    if held is not None and not held.sending:
        msg = "a statement ran while bulk writes were held; it would not see them"
        raise RuntimeError(msg)


async def _send(conn: AsyncConnection, held: _Held) -> None:
    parts, held.parts = held.parts, []
    if not parts:
        return
    held.sending = True
    try:
        if len(parts) == 1:
            await _run_one(conn, parts[0])
            return
        sql, params = combine(parts)
        counted = [p for p in parts if p.stale is not None]
        row = (await conn.execute(text(sql), params)).one()
        for part, n in zip(counted, row if counted else (), strict=True):
            _check(part, int(n))
    finally:
        held.sending = False


def combine(parts: list[_Part]) -> tuple[str, dict[str, Any]]:
    """`WITH w0 AS (...), w1 AS (...) SELECT <row counts to check>` and its parameters.
    PostgreSQL runs every data-modifying CTE to completion whether or not it is read."""
    ctes, counts, params = [], [], {}
    for i, p in enumerate(parts):
        name = f"{ROWS_PARAM}_{i}"
        placeholder = f":{ROWS_PARAM}"
        if p.sql.count(placeholder) != 1 or set(p.params) != {ROWS_PARAM}:
            msg = f"cannot hold a write to {p.table}: one :{ROWS_PARAM} parameter expected"
            raise ValueError(msg)
        sql = p.sql.replace(placeholder, f":{name}")
        params[name] = p.params[ROWS_PARAM]
        if p.stale is not None:
            sql += " RETURNING 1"
            counts.append(f"(SELECT count(*) FROM w{i})")  # noqa: S608 - names of ours
        ctes.append(f"w{i} AS ({sql})")
    return f"WITH {', '.join(ctes)} SELECT {', '.join(counts) or '1'}", params


async def _run_one(conn: AsyncConnection, part: _Part) -> None:
    res = await conn.execute(text(part.sql), dict(part.params))
    _check(part, int(res.rowcount))


def _check(part: _Part, matched: int) -> None:
    if part.stale is not None and matched != part.rows:
        raise StaleWriteError(part.stale)
