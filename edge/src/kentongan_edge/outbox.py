"""The durable outbox: every event is written here before it is sent, and forgotten only
when the cloud's `event/ack` names it (never on the broker's PUBACK).

Bounded: at `capacity` rows the outbox sheds, in this order, the oldest telemetry, then the
oldest ordinary event (duty, supervision, sensor cleared), and never a panic, a cancel or an
event that raises an incident (those are kept even past the bound, with a loud log). Every
row shed is counted in `shed_count`, which survives restarts and goes out in telemetry.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from kentongan_protocol.payloads import INCIDENT_KINDS, Event

from kentongan_edge.errors import OutboxError
from kentongan_edge.storage import Meta, relaxed, transaction

_LOGGER = logging.getLogger(__name__)

DEFAULT_CAPACITY = 100_000
NEVER_SHED_KINDS = INCIDENT_KINDS | {"cancel"}
EVENT_CLS = 0
TELEMETRY_CLS = 1
_SHED_KEY = "shed_count"
_SQL_BATCH = 500


class Priority(IntEnum):
    """Shedding order: higher values go first."""

    KEEP = 0
    EVENT = 1
    TELEMETRY = 2


def priority_of(event: Event) -> Priority:
    return Priority.KEEP if event.kind in NEVER_SHED_KINDS else Priority.EVENT


@dataclass(frozen=True, slots=True)
class Row:
    """One stored message; `payload` is the JSON exactly as first encoded."""

    id: int
    cls: int
    event_id: str | None
    session_id: str
    monotonic_ms: int
    payload: bytes

    @property
    def is_event(self) -> bool:
        return self.cls == EVENT_CLS


@dataclass(frozen=True, slots=True)
class Added:
    """Result of an insert: the new row (None when the row itself was shed) and the ids of
    older rows shed to make room."""

    row: Row | None
    shed: list[int] = field(default_factory=list)


_COLUMNS = "id, cls, event_id, session_id, monotonic_ms, payload"


def _row(values: tuple[int, int, str | None, str, int, bytes]) -> Row:
    return Row(*values)


class Outbox:
    """The outbox table of the state database (see module docstring)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        capacity: int = DEFAULT_CAPACITY,
        log: logging.LoggerAdapter[logging.Logger] | logging.Logger = _LOGGER,
    ) -> None:
        self._conn = conn
        self.capacity = capacity
        self._log = log
        self._meta = Meta(conn)
        self._counts = dict.fromkeys(Priority, 0)
        for prio, n in conn.execute("SELECT priority, count(*) FROM outbox GROUP BY priority"):
            self._counts[Priority(prio)] = int(n)
        self._shed = int(self._meta.get(_SHED_KEY, "0") or 0)

    @property
    def depth(self) -> int:
        return sum(self._counts.values())

    @property
    def event_depth(self) -> int:
        return self._counts[Priority.KEEP] + self._counts[Priority.EVENT]

    @property
    def shed_count(self) -> int:
        return self._shed

    def add_event(self, event: Event) -> Added:
        """Store an event durably (the commit is synced before this returns)."""
        return self._add(
            EVENT_CLS,
            priority_of(event),
            str(event.event_id),
            event.session_id,
            event.monotonic_ms,
            event.encode(),
        )

    def add_telemetry(self, payload: bytes, *, session_id: str, monotonic_ms: int) -> Added:
        return self._add(TELEMETRY_CLS, Priority.TELEMETRY, None, session_id, monotonic_ms, payload)

    def _add(
        self,
        cls: int,
        prio: Priority,
        event_id: str | None,
        session_id: str,
        mono: int,
        payload: bytes,
    ) -> Added:
        try:
            with transaction(self._conn) as c:
                shed: list[int] = []
                if self.depth >= self.capacity and not self._make_room(c, prio, shed):
                    return Added(None, shed)
                cur = c.execute(
                    "INSERT INTO outbox (cls, priority, event_id, session_id, monotonic_ms, "
                    "payload) VALUES (?, ?, ?, ?, ?, ?)",
                    (cls, int(prio), event_id, session_id, mono, payload),
                )
                rid = cur.lastrowid
                if rid is None:
                    msg = "SQLite gave no row id for the new row"
                    raise OutboxError(msg)
        except sqlite3.Error as exc:
            msg = f"cannot write to the outbox: {exc}"
            raise OutboxError(msg) from exc
        self._counts[prio] += 1
        return Added(Row(rid, cls, event_id, session_id, mono, payload), shed)

    def _make_room(self, c: sqlite3.Connection, prio: Priority, shed: list[int]) -> bool:
        """Shed one row for a new row of `prio`; False when the new row is the one shed."""
        for victim in (Priority.TELEMETRY, Priority.EVENT):
            if self._counts[victim] > 0 and prio <= victim:
                (rid,) = c.execute(
                    "SELECT id FROM outbox WHERE priority = ? ORDER BY id LIMIT 1", (int(victim),)
                ).fetchone()
                c.execute("DELETE FROM outbox WHERE id = ?", (rid,))
                self._counts[victim] -= 1
                shed.append(int(rid))
                self._count_shed(c)
                return True
            if prio == victim:
                self._count_shed(c)
                return False
        self._log.critical(
            "outbox full (%d rows) of panics and incident events: keeping this one as well, "
            "nothing may be dropped",
            self.depth,
        )
        return True

    def _count_shed(self, c: sqlite3.Connection) -> None:
        self._shed += 1
        Meta(c).set(_SHED_KEY, str(self._shed))
        if self._shed == 1 or self._shed % 1000 == 0:
            self._log.warning(
                "outbox full at %d rows: shedding (%d shed so far)", self.capacity, self._shed
            )

    def acknowledge(self, event_ids: Iterable[str]) -> list[int]:
        """Forget events the cloud has committed; returns the row ids removed."""
        return self._delete("event_id", list(event_ids))

    def remove(self, row_ids: Iterable[int]) -> list[int]:
        """Forget rows by id (telemetry after its PUBACK)."""
        return self._delete("id", list(row_ids))

    def _delete(self, column: str, keys: Sequence[object]) -> list[int]:
        removed: list[int] = []
        if not keys:
            return removed
        try:
            with relaxed(self._conn) as c:
                for i in range(0, len(keys), _SQL_BATCH):
                    part = keys[i : i + _SQL_BATCH]
                    marks = ",".join("?" * len(part))
                    rows = c.execute(
                        f"DELETE FROM outbox WHERE {column} IN ({marks}) "  # noqa: S608 - fixed column names
                        "RETURNING id, priority",
                        tuple(part),
                    ).fetchall()
                    for rid, prio in rows:
                        removed.append(int(rid))
                        self._counts[Priority(prio)] -= 1
        except sqlite3.Error as exc:
            msg = f"cannot remove rows of the outbox: {exc}"
            raise OutboxError(msg) from exc
        return removed

    def scan(self, cls: int, *, after_id: int, limit: int) -> list[Row]:
        """Rows of one class in insertion order, after `after_id`."""
        return [
            _row(v)
            for v in self._conn.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE cls = ? AND id > ? ORDER BY id LIMIT ?",  # noqa: S608
                (cls, after_id, limit),
            )
        ]

    def close(self) -> None:
        self._conn.close()

    def event_ids(self) -> set[str]:
        """Every event id still held (tests and diagnostics)."""
        return {str(v[0]) for v in self._conn.execute("SELECT event_id FROM outbox WHERE cls = 0")}
