"""The gateway's one SQLite file: outbox, command ledger and a few remembered values.

Journal mode WAL, `synchronous=FULL`. Why FULL: in WAL mode NORMAL survives a crashed or
killed process, but a power cut can roll back the newest commits; a post's Pi loses power
often (PLN outages, a tired UPS battery) and the newest commit is exactly the panic that was
just pressed. FULL syncs the WAL at each commit, about 0.3 ms on this machine's disk and a
few ms on an SD card, paid once per event. Deletions after the cloud's acknowledgement
commit with NORMAL (no fsync of their own; the next event's commit syncs them): losing one
in a power cut only means a duplicate with the same event_id, and a drain of 100,000 events
does not pay 100,000 fsyncs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from kentongan_edge.errors import OutboxError

Synchronous = Literal["FULL", "NORMAL", "OFF"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    cls INTEGER NOT NULL,           -- 0 event, 1 telemetry: events drain first
    priority INTEGER NOT NULL,      -- 0 never shed, 1 shed after telemetry, 2 telemetry
    event_id TEXT UNIQUE,           -- NULL for telemetry
    session_id TEXT NOT NULL,
    monotonic_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_cls_id ON outbox (cls, id);
CREATE INDEX IF NOT EXISTS outbox_priority_id ON outbox (priority, id);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY,
    result TEXT NOT NULL,
    seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alarms (
    alarm_id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    state TEXT NOT NULL,
    seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def open_database(path: Path | None, *, synchronous: Synchronous = "FULL") -> sqlite3.Connection:
    """Open (creating) the state database; `path=None` keeps it in memory (load tests only)."""
    target = ":memory:" if path is None else str(path)
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (see `transaction`).
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        if path is not None:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                msg = f"{path}: SQLite refused WAL mode ({mode})"
                raise OutboxError(msg)
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        # Small page cache: a Pi has little RAM, and many virtual gateways share one process.
        conn.execute("PRAGMA cache_size=-512")
        conn.executescript(SCHEMA)
    except sqlite3.Error as exc:
        msg = f"cannot open the outbox database {target}: {exc}"
        raise OutboxError(msg) from exc
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def relaxed(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A transaction that may be lost in a power cut (never one that stores an event)."""
    level = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    if level > 1:
        conn.execute("PRAGMA synchronous=NORMAL")
    try:
        with transaction(conn) as c:
            yield c
    finally:
        if level > 1:
            conn.execute(f"PRAGMA synchronous={level}")


class Meta:
    """Small remembered values (duty state, shed counter, maintenance) in the same file."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def delete(self, key: str) -> None:
        self._conn.execute("DELETE FROM meta WHERE key = ?", (key,))
