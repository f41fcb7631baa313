"""The small slice of an event loop that timing code needs, and a manual one for tests.

An asyncio loop satisfies `Timers` as it is; `ManualTimers` lets tests and simulations move
time by hand, so timing logic is checked without sleeping.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Timers(Protocol):
    """time() in seconds on a monotonic clock, and callbacks at a given time."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object]) -> Handle: ...


class _ManualHandle:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualTimers:
    """Timers whose clock moves only when `advance` is called."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, _ManualHandle]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> _ManualHandle:
        handle = _ManualHandle(when, callback)
        heapq.heappush(self._heap, (when, next(self._order), handle))
        return handle

    def advance(self, seconds: float) -> None:
        """Move the clock forward, running every callback that comes due, in time order."""
        until = self.now + seconds
        while self._heap and self._heap[0][0] <= until:
            when, _, handle = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            self.now = max(self.now, when)
            handle.callback()
        self.now = until

    def pending(self) -> int:
        return sum(1 for _, _, h in self._heap if not h.cancelled)
