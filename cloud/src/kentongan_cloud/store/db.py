"""The database: engine, schema creation and transactions handing out our repositories.

SQLite write transactions start with BEGIN IMMEDIATE: two workers then queue for the write
lock (sqlite_inline.py waits for it without blocking the loop) instead of failing when a
reader tries to become a writer.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kentongan_cloud.errors import DatabaseUnavailableError, MigrationError, StaleWriteError
from kentongan_cloud.store import (
    commands,
    fleet,
    guards,
    held,
    incidents,
    intake,
    migrate,
    outbox,
    pg_liveness,
    users,
    web,
)
from kentongan_cloud.store import responders as _responders  # noqa: F401 - its tables
from kentongan_cloud.store.base import make_engine, metadata
from kentongan_cloud.store.grafana_views import create_views
from kentongan_cloud.store.sqlite_inline import checkpoint_forever

__all__ = ["Database", "RetryableError", "Tx", "is_retryable"]

RetryableError = (IntegrityError, StaleWriteError, OperationalError)
"""Errors after which the same work may succeed when tried again from the start."""


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableError)


def is_disconnect(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@dataclass
class Tx:
    """One transaction and the repositories working in it."""

    conn: AsyncConnection
    intake: intake.IntakeRepo
    incidents: incidents.IncidentRepo
    outbox: outbox.OutboxRepo
    commands: commands.CommandRepo
    fleet: fleet.FleetRepo
    users: users.UserRepo
    web: web.WebRepo
    guards: guards.GuardRepo

    @classmethod
    def of(cls, conn: AsyncConnection) -> Tx:
        return cls(
            conn,
            intake.IntakeRepo(conn),
            incidents.IncidentRepo(conn),
            outbox.OutboxRepo(conn),
            commands.CommandRepo(conn),
            fleet.FleetRepo(conn),
            users.UserRepo(conn),
            web.WebRepo(conn),
            guards.GuardRepo(conn),
        )


def _sqlite_autocommit_off(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None


def _pragma(conn: Connection, pragma: str) -> None:
    """A PRAGMA on the driver's connection, bypassing SQLAlchemy's implicit BEGIN."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An async engine for SQLite (embedded default) or PostgreSQL, and its transactions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        kw: dict[str, Any] = {"echo": echo}
        if url.startswith("postgresql"):
            kw |= {"pool_size": 10, "max_overflow": 10}
        elif ":memory:" not in url:
            # Every SQLite transaction takes the write lock (BEGIN IMMEDIATE), so a second
            # connection in this process could only poll for it (sqlite_inline.py, sleeps of
            # up to 50 ms). One connection makes the waiters queue on the pool instead, first
            # come first served, woken the moment it is free.
            kw |= {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
        self.engine: AsyncEngine = make_engine(url, **kw)
        self.dialect = self.engine.dialect.name
        self._opened: weakref.WeakSet[Any] = weakref.WeakSet()
        if self.dialect == "postgresql":
            event.listen(
                self.engine.sync_engine,
                "connect",
                lambda c, _r: self._opened.add(c.driver_connection),
            )
            pg_liveness.check_on_checkout(self.engine)
            held.refuse_others(self.engine)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_autocommit_off)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)

    def checkpointer(self) -> Coroutine[None, None, None] | None:
        """The task that keeps an SQLite file's WAL short, for a long-running process to
        run beside its work (see sqlite_inline.py); None where there is nothing to do."""
        path = self.engine.url.database
        if self.dialect != "sqlite" or not path or path == ":memory:":
            return None
        return checkpoint_forever(path)

    async def migrate(self, target: str = migrate.HEAD) -> None:
        """Upgrade the schema with the Alembic revisions (and, on PostgreSQL, re-create the
        views Grafana reads: derived objects, always those of this code); safe to run again."""
        async with self._schema_tx() as conn:
            await conn.run_sync(migrate.upgrade, target)
            await create_views(conn)

    async def downgrade(self, target: str) -> None:
        async with self._schema_tx() as conn:
            await conn.run_sync(migrate.downgrade, target)

    @asynccontextmanager
    async def _schema_tx(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            sqlite = self.dialect == "sqlite"
            if sqlite:
                # Batch ALTERs copy a table and drop the old one, which fails while rows
                # elsewhere refer to it; the pragma only takes effect outside a transaction.
                await conn.run_sync(_pragma, "foreign_keys=OFF")
            try:
                async with conn.begin():
                    await self._lock(conn)
                    yield conn
                    if sqlite:
                        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                        if broken:
                            msg = f"migration left rows with dangling foreign keys: {broken}"
                            raise MigrationError(msg)
            finally:
                if sqlite:
                    await conn.run_sync(_pragma, "foreign_keys=ON")

    async def revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(migrate.current)

    async def create_schema(self) -> None:
        """Tables straight from the metadata, without Alembic: only for tests that want a
        fresh schema fast. The result is the schema of head, so it is stamped at head."""
        async with self.engine.begin() as conn:
            await self._lock(conn)
            await conn.run_sync(metadata.create_all)
            await conn.run_sync(migrate.stamp, migrate.HEAD)
            await create_views(conn)

    async def _lock(self, conn: AsyncConnection) -> None:
        if self.dialect == "postgresql":
            # Two workers starting together must not race on CREATE TABLE / VIEW.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")

    async def drop_schema(self) -> None:
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.exec_driver_sql("DROP VIEW IF EXISTS grafana_posts, grafana_incidents")
            await conn.run_sync(metadata.drop_all)

    async def truncate_all(self) -> None:
        """Empty every table (test isolation on a shared PostgreSQL database)."""
        async with self.engine.begin() as conn:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            if self.dialect == "postgresql":
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for t in reversed(metadata.sorted_tables):
                    await conn.execute(t.delete())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Commit on success, roll back on error; a lost connection is DatabaseUnavailable."""
        try:
            async with self.engine.begin() as conn:
                yield Tx.of(conn)
        except DBAPIError as exc:
            if exc.connection_invalidated:
                msg = f"database connection lost: {exc.orig}"
                raise DatabaseUnavailableError(msg) from exc
            raise
        except OSError as exc:
            msg = f"database unreachable: {exc}"
            raise DatabaseUnavailableError(msg) from exc

    async def execute_sql(self, sql: str) -> None:
        """Run raw DDL (tests install triggers with it)."""
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql(sql)

    async def close(self) -> None:
        await self.engine.dispose()

    def sever(self) -> None:
        """Close every PostgreSQL connection's socket now, in use or not, as the process's
        death would: the server rolls back what was open and frees its row locks. (A task
        cancelled mid-transaction can leave its connection checked out; in a real crash the
        socket dies with the process. Tests' crash of a worker that lives on in the test.)"""
        for driver in list(self._opened):  # psycopg's connections
            if not driver.closed:
                driver.pgconn.finish()
