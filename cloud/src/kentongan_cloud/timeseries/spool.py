"""A bounded on-disk spool of encoded batches that InfluxDB could not take yet.

SQLite in WAL mode: a batch is one row, so a batch is spooled or not, never half. The spool
survives a restart of the cloud service; it is bounded in points, and when full the oldest
batches make room for newer ones (their points are counted as dropped).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kentongan_cloud.timeseries.errors import SpoolError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    points INTEGER NOT NULL CHECK (points > 0),
    body BLOB NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One batch waiting in the spool: its row id, how many points, the line-protocol body."""

    id: int
    points: int
    body: bytes


class Spool:
    """Batches of line protocol waiting for InfluxDB, oldest first, at most `max_points`.

    Not thread-safe: the writer's worker thread is its only user once the writer runs.
    """

    def __init__(self, path: Path, *, max_points: int) -> None:
        if max_points < 1:
            msg = "max_points must be at least 1"
            raise ValueError(msg)
        self.path = path
        self.max_points = max_points
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            row = self._db.execute("SELECT COALESCE(SUM(points), 0) FROM batch").fetchone()
        except sqlite3.Error as exc:
            msg = f"cannot open the time-series spool {path}: {exc}"
            raise SpoolError(msg) from exc
        self._points = int(row[0])

    @property
    def points(self) -> int:
        """Points waiting on disk."""
        return self._points

    def put(self, lines: Sequence[bytes]) -> int:
        """Store one batch; return how many older points were dropped to make room."""
        if not lines:
            return 0
        dropped = 0
        if len(lines) > self.max_points:
            dropped = len(lines) - self.max_points
            lines = lines[dropped:]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            while self._points + len(lines) > self.max_points:
                oldest = self._db.execute(
                    "SELECT id, points FROM batch ORDER BY id LIMIT 1"
                ).fetchone()
                self._db.execute("DELETE FROM batch WHERE id = ?", (oldest[0],))
                self._points -= int(oldest[1])
                dropped += int(oldest[1])
            self._db.execute(
                "INSERT INTO batch (points, body) VALUES (?, ?)", (len(lines), b"\n".join(lines))
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            msg = f"cannot write to the time-series spool {self.path}: {exc}"
            raise SpoolError(msg) from exc
        self._points += len(lines)
        return dropped

    def oldest(self) -> SpooledBatch | None:
        """The batch that has waited longest, or None when the spool is empty."""
        row = self._db.execute("SELECT id, points, body FROM batch ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        return SpooledBatch(id=int(row[0]), points=int(row[1]), body=bytes(row[2]))

    def remove(self, batch: SpooledBatch) -> None:
        """Forget a batch InfluxDB has taken (or refused for good)."""
        cur = self._db.execute("DELETE FROM batch WHERE id = ?", (batch.id,))
        if cur.rowcount:
            self._points -= batch.points

    def close(self) -> None:
        self._db.close()

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            # No transaction was open: nothing to undo.
            return
