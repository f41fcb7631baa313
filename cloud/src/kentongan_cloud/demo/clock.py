"""The demo's clock: real time plus a skip forward, so escalation need not be waited for."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class DemoClock:
    """The machine's clock plus an offset the demo moves forward (the responders' time)."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def skip(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
