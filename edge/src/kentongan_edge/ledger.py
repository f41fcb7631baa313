"""What the gateway remembers about commands, so each is applied once and a late `on`
never follows an `off` — across restarts too (the broker redelivers after a crash)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

from kentongan_edge.storage import transaction

KEEP_COMMANDS = 10_000
KEEP_ALARMS = 2_000

AlarmState = Literal["on", "off"]


@dataclass(frozen=True, slots=True)
class AlarmRevision:
    revision: int
    state: AlarmState


class CommandLedger:
    """Command ids already handled, and the newest revision seen of each alarm."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._counter = int(
            conn.execute(
                "SELECT max(m) FROM (SELECT max(seen) AS m FROM commands "
                "UNION ALL SELECT max(seen) FROM alarms)"
            ).fetchone()[0]
            or 0
        )

    def result_of(self, command_id: str) -> str | None:
        """The result given to this command before, or None when it is new."""
        row = self._conn.execute(
            "SELECT result FROM commands WHERE command_id = ?", (command_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def alarm(self, alarm_id: str) -> AlarmRevision | None:
        row = self._conn.execute(
            "SELECT revision, state FROM alarms WHERE alarm_id = ?", (alarm_id,)
        ).fetchone()
        if row is None:
            return None
        state: AlarmState = "on" if row[1] == "on" else "off"
        return AlarmRevision(int(row[0]), state)

    def record(
        self,
        command_id: str,
        result: str,
        *,
        alarm_id: str | None = None,
        revision: AlarmRevision | None = None,
    ) -> None:
        """Remember a command's result (and the alarm revision it set) in one commit."""
        self._counter += 1
        with transaction(self._conn) as c:
            c.execute(
                "INSERT OR REPLACE INTO commands (command_id, result, seen) VALUES (?, ?, ?)",
                (command_id, result, self._counter),
            )
            if alarm_id is not None and revision is not None:
                c.execute(
                    "INSERT OR REPLACE INTO alarms (alarm_id, revision, state, seen) "
                    "VALUES (?, ?, ?, ?)",
                    (alarm_id, revision.revision, revision.state, self._counter),
                )
            if self._counter % 500 == 0:
                c.execute("DELETE FROM commands WHERE seen <= ?", (self._counter - KEEP_COMMANDS,))
                c.execute("DELETE FROM alarms WHERE seen <= ?", (self._counter - KEEP_ALARMS,))


def supersedes(new_revision: int, new_state: AlarmState, known: AlarmRevision | None) -> bool:
    """True when a command (`new_revision`, `new_state`) may act on an alarm.

    A higher revision always wins; at the same revision an `off` beats an `on`, so a late
    `on` never follows an `off` of that revision.
    """
    if known is None:
        return True
    if new_revision != known.revision:
        return new_revision > known.revision
    return new_state == "off" and known.state == "on"
