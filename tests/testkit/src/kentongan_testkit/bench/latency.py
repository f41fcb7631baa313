"""Latencies from press times taken in the load generators (wall clock, keyed by event_id)
to what the cloud committed: the incident the press opened, when a reader first saw it (see
visibility.py) and its opened_at (the cloud's clock as its intake transaction began, so the
cloud's share before the commit), the event/ack back at the pressing post (sent after
the commit; timed in the load generator), and each
neighbouring post's acknowledgement of the siren command a confirmation sent
(command_acks.at: the cloud's clock when its intake took the ack), and, to tell the cloud's
share from the posts', when the cloud published each of those commands (commands.sent_at)."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from kentongan_testkit.bench.cloudproc import wait_for
from kentongan_testkit.bench.database import OPENED_SQL, SIREN_SQL, Database, marks, ts


@dataclass
class PressLatency:
    visible_s: list[float] = field(default_factory=list)  # first read by another connection
    poll_gap_s: list[float] = field(default_factory=list)  # the reader's resolution
    opened_s: list[float] = field(default_factory=list)  # incidents.opened_at
    event_ack_s: list[float] = field(default_factory=list)  # the event/ack back at the post
    missing: int = 0
    siren_ack_s: list[float] = field(default_factory=list)
    # The cloud's share of it: confirming press → command published (commands.sent_at).
    siren_sent_s: list[float] = field(default_factory=list)
    sounding_incidents: int = 0  # confirmed incidents that sent siren commands
    siren_commands: int = 0
    siren_unacked: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "presses_missing": self.missing,
            "sounding_incidents": self.sounding_incidents,
            "siren_commands": self.siren_commands,
            "siren_unacked": self.siren_unacked,
        }


def _opened(db: Database, ids: list[str]) -> list[tuple[Any, ...]]:
    return db.rows(OPENED_SQL + f"e.event_id IN ({marks(len(ids))})", tuple(ids))


def _sirens(db: Database, incident_ids: list[str]) -> list[tuple[Any, ...]]:
    where = f"c.incident_id IN ({marks(len(incident_ids))})"
    return db.rows(SIREN_SQL + where, tuple(incident_ids))


def press_latencies(
    db: Database, pressed: dict[str, float], timeout: float, siren_timeout: float = 90.0
) -> PressLatency:
    """Wait (up to `timeout`) for an incident per press, then (up to `siren_timeout`) for
    every siren command those incidents sent to be acknowledged by its neighbour."""
    out = PressLatency()
    if not pressed:
        return out
    ids = list(pressed)
    with suppress(TimeoutError):
        wait_for(lambda: len(_opened(db, ids)) >= len(ids), timeout, "incidents", 0.2)
    rows = _opened(db, ids)
    out.opened_s = [max(0.0, ts(opened) - pressed[eid]) for eid, opened, _ in rows]
    out.missing = len(ids) - len(rows)
    press_of = {iid: pressed[eid] for eid, _, iid in rows}
    if not press_of:
        return out
    # The commands are written with the confirmation, so they exist once the incident does;
    # 90 s covers their 60 s expiry: an unacked command by then was never delivered.
    incs = list(press_of)

    def all_acked() -> bool:
        return all(at is not None for _, _, at, _ in _sirens(db, incs))

    with suppress(TimeoutError):
        wait_for(all_acked, siren_timeout, "siren acks", 0.3)
    sirens = _sirens(db, incs)
    out.sounding_incidents = len({iid for iid, _, _, _ in sirens})
    out.siren_commands = len(sirens)
    out.siren_unacked = sum(1 for _, _, at, _ in sirens if at is None)
    out.siren_ack_s = [
        max(0.0, ts(at) - press_of[iid]) for iid, _, at, _ in sirens if at is not None
    ]
    out.siren_sent_s = [
        max(0.0, ts(sent) - press_of[iid]) for iid, _, _, sent in sirens if sent is not None
    ]
    return out
