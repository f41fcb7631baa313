"""Shared SQLAlchemy metadata and engine creation for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from kentongan_cloud.store.sqlite_inline import connector

# Stable constraint names so migrations and error messages can name them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str, **kw: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, runs in the event loop's thread (sqlite_inline.py)
    and waits for another process's write lock so workers do not trip each other."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.get_driver_name() == "aiosqlite":
        kw.setdefault("async_creator", connector(parsed.database or ":memory:"))
    engine = create_async_engine(url, **kw)
    if engine.dialect.name == "sqlite":
        sync: Engine = engine.sync_engine
        event.listen(sync, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        # Many-row INSERTs (an intake batch's events, outbox rows) as multi-row VALUES
        # statements: psycopg's default sends one statement per row.
        engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine
