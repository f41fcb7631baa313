"""The cloud's database read with plain SQL from outside the cloud (SQLite file or a
throw-away PostgreSQL database), and the queries the bench measures with."""

from __future__ import annotations

import atexit
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from kentongan_testkit.pgserver import ENV_VAR, PgServer, PrivatePostgres

OPENED_SQL = (
    "SELECT e.event_id, i.opened_at, i.id FROM events e "
    "JOIN incidents i ON i.opening_event_id = e.event_id WHERE "
)
OFFLINE_SQL = "SELECT gateway_id FROM gateways WHERE NOT online AND "
# Siren "on" commands of these incidents, with the ack of the target when it has arrived.
SIREN_SQL = (
    "SELECT c.incident_id, c.target, a.at, c.sent_at FROM commands c LEFT JOIN command_acks a "
    "ON a.command_id = c.command_id AND a.gateway_id = c.target "
    "WHERE c.action = 'siren_on' AND "
)


def ts(value: Any) -> float:
    """A timestamp column as epoch seconds (SQLite gives text, PostgreSQL datetimes)."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def marks(n: int) -> str:
    """`n` bind placeholders: only these are ever joined into SQL text."""
    return ",".join(["%s"] * n)


@functools.cache
def pg_server() -> PgServer:
    """The bench's PostgreSQL: KENTONGAN_TEST_POSTGRES when set, else a private cluster
    started once for this process (stopped at exit), as the tests do."""
    external = os.environ.get(ENV_VAR)
    if external:
        return PgServer.from_url(external)
    pg = PrivatePostgres().start()
    atexit.register(pg.stop)
    return pg.server


class Database:
    """The cloud's database, read with plain SQL from outside the cloud."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.pg_name: str | None = None
        if kind == "sqlite":
            self.path = workdir / "cloud.db"
            self.url = f"sqlite+aiosqlite:///{self.path}"
        elif kind == "postgresql":
            self.server = pg_server()
            self.pg_name = self.server.create_database(
                f"kentongan_bench_{os.getpid()}_{time.time_ns()}"
            )
            self.url = self.server.url(self.pg_name)
        else:
            msg = f"unknown database {kind!r}: expected sqlite or postgresql"
            raise ValueError(msg)

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            lite = sqlite3.connect(self.path, timeout=30)
            try:
                return lite.execute(sql.replace("%s", "?"), args).fetchall()
            finally:
                lite.close()
        with self.server.connect(self.pg_name) as conn:
            return list(conn.execute(sql.encode(), args).fetchall())

    @contextmanager
    def reader(self) -> Iterator[Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """One connection held open for many quick reads (a poll every few milliseconds
        should not pay a connect each time)."""
        if self.kind == "sqlite":
            lite = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                yield lambda sql, args: lite.execute(sql.replace("%s", "?"), args).fetchall()
            finally:
                lite.close()
            return
        with self.server.connect(self.pg_name) as conn:
            yield lambda sql, args: list(conn.execute(sql.encode(), args).fetchall())

    def scalar(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        try:
            got = self.rows(sql, args)
        except (sqlite3.OperationalError, psycopg.Error):
            return 0  # the cloud has not created its tables yet
        return int(got[0][0] or 0) if got else 0

    def drop(self) -> None:
        if self.pg_name is not None:
            self.server.drop_database(self.pg_name)
