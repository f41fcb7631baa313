"""SQLite run in the event loop's own thread, under SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call on a thread of its own and hands each result back through the
event loop: a statement costs three or four such hops (cursor, execute, fetch, close), and
under load every hop waits for the loop and for the GIL. The intake's transaction of a dozen
statements took 12-60 ms that way, of which SQLite's own work was a few: our statements
answer in microseconds (WAL, no fsync per commit). Run inline they cost only that.

The one wait that must not block the loop is for another process's write lock (a second
worker, a CLI command): SQLite's busy handler would sleep in this thread, so it is off
(busy_timeout 0) and a locked database is retried here with asyncio sleeps, up to the same
5 s. Long statements do block the loop; the cloud has none on the paths that run under load.

Checkpoints (copying the WAL back into the database file, with an fsync) are the other
long step: SQLite runs one inside whichever commit finds the WAL past its threshold, which
made every few seconds' commit take 10-20 ms. The cloud's runtime runs `checkpoint_forever`
instead, on a thread with a connection of its own; the automatic one stays only as a
backstop for processes that do not (a CLI command), at a threshold ten times higher.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_LOGGER = logging.getLogger(__name__)
BUSY_TIMEOUT_S = 5.0
CHECKPOINT_EVERY_S = 1.0
AUTOCHECKPOINT_PAGES = 10_000  # SQLite's default is 1,000 (about 4 MB of WAL)
_FIRST_WAIT_S = 0.001
_LONGEST_WAIT_S = 0.05


def _locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


class _Immediately:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses directly to set the
    isolation level: runs the request at once and answers its future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting caller
            future.set_exception(exc)


class InlineCursor:
    """aiosqlite's cursor API over a sqlite3 cursor, without the thread."""

    def __init__(self, conn: InlineConnection) -> None:
        self._conn = conn
        self._cursor = conn._conn.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await self._conn.unlocked(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        # Never retried: outside a transaction each row commits alone, so a lock met at
        # row k would repeat rows before it. Ours run inside BEGIN IMMEDIATE, which holds
        # the lock already (and WAL writers meet no other lock).
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    async def nextset(self) -> None:
        return None

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """aiosqlite's connection API over a sqlite3 connection, without the thread."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self._conn = conn
        # SQLAlchemy reads these two aiosqlite attributes: the open connection (falsy once
        # closed) and the request queue.
        self._connection: sqlite3.Connection | None = conn
        self._tx = _Immediately()
        self.busy_timeout_s = busy_timeout_s

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def unlocked(self, call: Callable[..., T], *args: Any, commit: bool = False) -> T:
        """`call(*args)`, waiting without blocking the loop while another connection holds
        the write lock. A single statement outside a transaction (BEGIN IMMEDIATE itself)
        and COMMIT are safe to repeat after SQLITE_BUSY; a statement inside a transaction
        is not retried, as SQLite's busy handler would not either."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_s
        wait = _FIRST_WAIT_S
        while True:
            retry = commit or not self._conn.in_transaction
            try:
                return call(*args)
            except sqlite3.OperationalError as exc:
                if not (retry and _locked(exc)) or loop.time() + wait > deadline:
                    raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT_S)

    async def commit(self) -> None:
        await self.unlocked(self._conn.commit, commit=True)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (also SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def connector(database: str) -> Callable[[], Any]:
    """The `async_creator` for create_async_engine: a new inline connection to `database`
    (a file path, or ":memory:"), in autocommit mode so the caller issues BEGIN itself."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        return InlineConnection(conn)

    return connect


async def checkpoint_forever(database: str, every_s: float = CHECKPOINT_EVERY_S) -> None:
    """Until cancelled: every `every_s`, a passive checkpoint of `database` (it copies what it
    can without waiting for readers or writers), so the loop's commits never run one.

    The connection lives and dies on a thread of its own: closing it from the loop while a
    checkpoint still ran on it would pull it from under that thread."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_checkpoint_loop,
        args=(database, every_s, stop),
        name="sqlite-checkpoint",
        daemon=True,
    )
    thread.start()
    try:
        await asyncio.Event().wait()
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)


def _checkpoint_loop(database: str, every_s: float, stop: threading.Event) -> None:
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        while not stop.wait(every_s):
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                _LOGGER.warning(
                    "checkpoint of %s failed (the next one tries again): %s", database, exc
                )
    finally:
        conn.close()
