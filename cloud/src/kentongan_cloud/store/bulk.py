"""Many-row writes as one short statement on PostgreSQL.

An intake batch writes hundreds of rows per table. A multi-row VALUES statement has a
placeholder per value, and psycopg parses such a statement afresh each time (it is too long
for its cache): at 500 events that parse was a fifth of the intake's time. An executemany
sends a statement per row. Here all the rows travel as one JSON text parameter and
`json_to_recordset` turns it back into typed rows: the statement is short, the same for any
number of rows, and one round trip. (Before, each column travelled as an array parameter
for `unnest`; psycopg writes arrays element by element in Python, a tenth of the event
loop's samples in a PostgreSQL probe, where `json.dumps` does the whole batch in C.)
Inside `held.holding(conn)` these writes wait and go together as one statement (held.py).

SQLite keeps an executemany, but not SQLAlchemy's: for each row of an executemany it builds
a parameter dict and runs every column's bind step through generic machinery, a fifth of
the intake's time on the event loop. `execute_many` compiles a statement once, keeps each
column's bind step (for UTC timestamps a one-step version of it), and hands the driver
plain tuples.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Table, Text, bindparam, cast, func, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeDecorator, TypeEngine

from kentongan_cloud.store import held
from kentongan_cloud.store.types import UtcDateTime, sqlite_text


def one_of(
    conn: AsyncConnection, column: ColumnElement[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL the values travel as one JSON text, so the
    statement is the same for any number of them: an IN list of its own length made a new
    statement for every batch size, which psycopg neither caches (over 50 parameters) nor
    prepares, and the server parsed and planned anew each time."""
    if conn.dialect.name != "postgresql":
        return column.in_(list(values))
    doc = bindparam(None, json.dumps(list(values)), type_=Text)
    return column.in_(select(func.json_array_elements_text(cast(doc, JSON)).column_valued()))


async def insert_many(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] = (),
) -> None:
    """Insert `rows` (all with the same keys); with `skip_conflicts_on`, a row whose key is
    already there is left out (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        await execute_many(conn, _sqlite_insert(table, tuple(skip_conflicts_on)), rows)
        return
    sql, params = _insert_select(conn.dialect, table, rows)
    if skip_conflicts_on:
        q = conn.dialect.identifier_preparer.quote
        sql += f" ON CONFLICT ({', '.join(q(n) for n in skip_conflicts_on)}) DO NOTHING"
    await held.write(conn, table.name, sql, params, rows=len(rows))


@functools.cache
def _sqlite_insert(table: Table, skip_conflicts_on: tuple[str, ...]) -> UpdateBase:
    # One statement object per table and conflict key, so its compiled form is reused.
    if not skip_conflicts_on:
        return insert(table)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(skip_conflicts_on))


@dataclass(frozen=True)
class _Compiled:
    """A statement's SQL for given row keys, where each placeholder's value comes from (a
    row's key, or a constant such as a column's scalar default) and its bind step."""

    sql: str
    slots: tuple[tuple[str | None, Any], ...]
    binds: tuple[tuple[int, Callable[[Any], Any]], ...]


# Keyed by the statement object: callers build each statement once (module level, or
# `_sqlite_insert`).
_COMPILED: dict[tuple[UpdateBase, tuple[str, ...], str], _Compiled] = {}
_MAX_COMPILED = 256


def _compile(dialect: Dialect, stmt: UpdateBase, keys: tuple[str, ...]) -> _Compiled:
    found = _COMPILED.get((stmt, keys, dialect.name))
    if found is not None:
        return found
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys))
    if not compiled.positional:
        msg = f"execute_many needs a positional paramstyle, not {dialect.paramstyle}"
        raise ValueError(msg)
    defaults = {c.key: c.default for c in compiled.insert_prefetch + compiled.update_prefetch}
    slots: list[tuple[str | None, Any]] = []
    binds: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(compiled.positiontup):
        if name in keys:
            slots.append((name, None))
        elif name in defaults and defaults[name] is not None and defaults[name].is_scalar:
            slots.append((None, defaults[name].arg))
        else:
            # A default computed per row, or a bind the rows do not give: SQLAlchemy's own
            # executemany would fill it in; this one would not, so it refuses.
            msg = f"execute_many: no value for {name!r} in rows with keys {sorted(keys)}"
            raise ValueError(msg)
        bind_type = compiled.binds[name].type
        if dialect.name == "sqlite" and isinstance(bind_type, UtcDateTime):
            step: Callable[[Any], Any] | None = sqlite_text
        else:
            step = bind_type.dialect_impl(dialect).bind_processor(dialect)
        if step is not None:
            binds.append((i, step))
    done = _Compiled(compiled.string, tuple(slots), tuple(binds))
    if len(_COMPILED) >= _MAX_COMPILED:  # statements built per call would only pile up
        _COMPILED.clear()
    _COMPILED[(stmt, keys, dialect.name)] = done
    return done


async def execute_many(
    conn: AsyncConnection, stmt: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run `stmt` once per row (all rows with the same keys) as one executemany of plain
    tuples; returns the rows it matched or inserted."""
    if not rows:
        return 0
    plan = _compile(conn.dialect, stmt, tuple(rows[0]))
    params = []
    for row in rows:
        values = [row[key] if key is not None else const for key, const in plan.slots]
        for i, step in plan.binds:
            values[i] = step(values[i])
        params.append(tuple(values))
    result = await conn.exec_driver_sql(plan.sql, params)
    return int(result.rowcount)


async def upsert_many(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    set_sql: Mapping[str, str],
) -> None:
    """Insert `rows` on PostgreSQL; where a row with the same `key` columns is already there,
    update it instead with `set_sql` (column: expression, `t.` for the row as it was and
    `excluded.` for the new one). The keys must be distinct within `rows`. SQLite callers
    keep an executemany of their own statement."""
    if conn.dialect.name != "postgresql":
        msg = f"upsert_many is for PostgreSQL, not {conn.dialect.name}"
        raise ValueError(msg)
    if not rows:
        return
    q = conn.dialect.identifier_preparer.quote
    sql, params = _insert_select(conn.dialect, table, rows)
    sets = ", ".join(f"{q(k)} = {expr}" for k, expr in set_sql.items())
    sql += f" ON CONFLICT ({', '.join(q(k) for k in key)}) DO UPDATE SET {sets}"
    await held.write(conn, table.name, sql, params, rows=len(rows))


def _insert_select(
    dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, dict[str, str]]:
    """`INSERT INTO table AS t (...) SELECT ... FROM json_to_recordset(...)` and its
    parameter."""
    keys = list(rows[0])
    source, params = _records(dialect, [(k, table.c[k].type) for k in keys], rows)
    q = dialect.identifier_preparer.quote
    names = ", ".join(q(k) for k in keys)
    picked = ", ".join(f"u.{q(k)}" for k in keys)
    return f"INSERT INTO {q(table.name)} AS t ({names}) SELECT {picked} FROM {source}", params  # noqa: S608


async def update_many(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    match: Mapping[str, str],
    set_sql: Mapping[str, str] | None = None,
    stale: str | None = None,
) -> None:
    """Update one row per item on PostgreSQL; with `stale`, every item must match a row,
    else StaleWriteError(stale) (a version check).

    `match` maps a key of the items to the column it must equal (`{"b_gid": "gateway_id"}`);
    every other key is a column set to the item's value, unless `set_sql` gives the
    expression for it (with `t.` for the row as it was and `u.` for the item). SQLite callers
    keep an executemany of their own statement."""
    if conn.dialect.name != "postgresql":
        msg = f"update_many is for PostgreSQL, not {conn.dialect.name}"
        raise ValueError(msg)
    keys = list(rows[0])
    typed = [(k, table.c[match.get(k, k)].type) for k in keys]
    source, params = _records(conn.dialect, typed, rows)
    q = conn.dialect.identifier_preparer.quote
    exprs = dict(set_sql or {})
    sets = ", ".join(f"{q(k)} = {exprs.get(k) or f'u.{q(k)}'}" for k in keys if k not in match)
    where = " AND ".join(f"t.{q(col)} = u.{q(key)}" for key, col in match.items())
    sql = f"UPDATE {q(table.name)} AS t SET {sets} FROM {source} WHERE {where}"  # noqa: S608
    await held.write(conn, table.name, sql, params, rows=len(rows), stale=stale)


def _records(
    dialect: Dialect,
    typed: Sequence[tuple[str, TypeEngine[Any]]],
    rows: Sequence[Mapping[str, Any]],
) -> tuple[str, dict[str, str]]:
    """`json_to_recordset(...) AS u(...)` over all `rows` as one JSON parameter, and that
    parameter: each value after its column's bind step (UTC timestamps), JSON columns as
    nested JSON."""
    binders = [(key, _binder(t, dialect)) for key, t in typed]
    doc = json.dumps(
        [{key: bind(r[key]) for key, bind in binders} for r in rows],
        default=_json_scalar,
        allow_nan=False,
        separators=(",", ":"),
    )
    return _records_sql(dialect, tuple(typed)), {held.ROWS_PARAM: doc}


@functools.cache
def _records_sql(dialect: Dialect, typed: tuple[tuple[str, TypeEngine[Any]], ...]) -> str:
    # Built once per column set: the types are the tables' own column type objects.
    q = dialect.identifier_preparer.quote
    defs = ", ".join(f"{q(k)} {_record_type(t, dialect)}" for k, t in typed)
    return f"json_to_recordset(CAST(:{held.ROWS_PARAM} AS json)) AS u({defs})"


def _json_scalar(value: object) -> str:
    """Values json.dumps leaves to us: timestamps, as PostgreSQL reads them."""
    if isinstance(value, datetime):
        return value.isoformat()
    msg = f"cannot write {type(value).__name__} {value!r} in a bulk statement"
    raise TypeError(msg)


def _record_type(t: TypeEngine[Any], dialect: Dialect) -> str:
    if isinstance(t, JSON):
        return "json"
    impl = t.impl_instance if isinstance(t, TypeDecorator) else t
    return str(impl.compile(dialect=dialect))


def _binder(t: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """A column's bind step, where it has one of its own (UTC timestamps)."""
    if isinstance(t, TypeDecorator) and not isinstance(t, JSON):
        return lambda v: t.process_bind_param(v, dialect)
    return lambda v: v
