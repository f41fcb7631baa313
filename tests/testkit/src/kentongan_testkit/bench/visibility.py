"""When each new incident could first be read: a reader on its own connection polls the
cloud's database every few milliseconds. The API reads the same database, so this is the
moment an operator's console could first show the incident. It is later than
incidents.opened_at, the cloud's clock as its intake transaction began: it adds the rest
of the transaction, the commit, and up to one poll interval (so it errs on the slow side)."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from kentongan_testkit.bench.database import Database

POLL_S = 0.005
_NEWEST = "SELECT max(opened_at) FROM incidents"
_SINCE = "SELECT opening_event_id FROM incidents WHERE opened_at > %s"
_ALL = "SELECT opening_event_id FROM incidents"


class IncidentWatcher:
    """Records, for every incident opened while it runs, when a reader first saw it:
    `seen` maps the opening event_id to that wall-clock time."""

    def __init__(self, db: Database, poll_s: float = POLL_S) -> None:
        self.db = db
        self.poll_s = poll_s
        self.seen: dict[str, float] = {}
        # Seconds between the starts of consecutive polls: the figures' resolution. On a
        # loaded machine the watcher itself waits for a core, and a late poll reads late.
        self.gaps: list[float] = []
        self.error: BaseException | None = None
        self._last: float | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="incident-watcher", daemon=True)

    def __enter__(self) -> IncidentWatcher:
        self._thread.start()
        self._ready.wait(30)
        return self

    def __exit__(
        self,
        _t: type[BaseException] | None,
        _e: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(30)

    def visible_after(self, pressed: dict[str, float]) -> list[float]:
        """Seconds from each press to the first read of the incident it opened."""
        return [max(0.0, self.seen[e] - at) for e, at in pressed.items() if e in self.seen]

    def _run(self) -> None:
        try:
            with self.db.reader() as query:
                newest = query(_NEWEST, ())[0][0]
                sql, args = (_ALL, ()) if newest is None else (_SINCE, (newest,))
                self._ready.set()
                while not self._stop.is_set():
                    self._poll(query, sql, args)
                    self._stop.wait(self.poll_s)
                self._poll(query, sql, args)
        except BaseException as exc:  # reported by the caller, never lost in a thread
            self.error = exc
        finally:
            self._ready.set()

    def _poll(self, query: Any, sql: str, args: tuple[Any, ...]) -> None:
        at = time.time()  # every row read was visible by the time the read began
        if self._last is not None:
            self.gaps.append(at - self._last)
        self._last = at
        rows = query(sql, args)
        for (event_id,) in rows:
            self.seen.setdefault(str(event_id), at)
