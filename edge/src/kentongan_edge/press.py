"""Press classification: debounce, hold-to-confirm, short press and the cancel window.

Pure and clock-injected: callers pass times (seconds on one monotonic clock) and call
`advance(now)` when `next_deadline()` comes; nothing here sleeps or reads a clock, so the
same code runs on a Pi, on mock pins and under hypothesis with invented pulse trains.

Rules, for one input:
- A level counts only once it has stayed put for `debounce_s`; shorter pulses are bounces
  and are counted, never reported.
- A press is *held* when the debounced press has lasted `hold_s` (counted from the edge that
  began it) and the contact is closed at that moment. Glitches shorter than the debounce
  time inside a hold do not restart it. One press is held at most once.
- A press that ends before its hold is a *short* press; it raises nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

DEFAULT_DEBOUNCE_S = 0.05

Change = Literal["pressed", "held", "released"]


@dataclass(frozen=True, slots=True)
class Classified:
    """What the classifier concluded at time `at`.

    `pressed`: a debounced press began; `held`: it reached the hold time; `released`: it
    ended, `was_held` telling whether it had been held and `duration` how long it lasted.
    """

    change: Change
    at: float
    was_held: bool = False
    duration: float = 0.0


class PressClassifier:
    """Debounces one contact and classifies its presses (see the module docstring)."""

    __slots__ = (
        "_held",
        "_now",
        "_press_at",
        "_raw",
        "_raw_since",
        "_stable",
        "bounces",
        "debounce_s",
        "hold_s",
    )

    def __init__(
        self,
        *,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        hold_s: float | None = None,
        active: bool = False,
        now: float = 0.0,
    ) -> None:
        if debounce_s < 0:
            msg = "debounce_s must not be negative"
            raise ValueError(msg)
        if hold_s is not None and hold_s <= debounce_s:
            msg = "hold_s must be longer than debounce_s"
            raise ValueError(msg)
        self.debounce_s = debounce_s
        self.hold_s = hold_s
        self._raw = active
        self._raw_since = now
        self._stable = active
        # A contact already closed at start is not a press: a stuck button must not raise
        # a panic on every restart. It counts as held until it opens.
        self._press_at = now
        self._held = active
        self._now = now
        self.bounces = 0

    @property
    def active(self) -> bool:
        """The debounced level."""
        return self._stable

    @property
    def raw_active(self) -> bool:
        return self._raw

    def next_deadline(self) -> float | None:
        """When `advance` must next be called, or None while nothing is pending."""
        if self._raw != self._stable:
            return self._raw_since + self.debounce_s
        if self._stable and not self._held and self.hold_s is not None:
            return self._press_at + self.hold_s
        return None

    def advance(self, now: float) -> list[Classified]:
        """Conclude everything that has come due by `now`, in time order."""
        out: list[Classified] = []
        while True:
            due = self.next_deadline()
            if due is None or due > now:
                break
            self._now = max(self._now, due)
            self._conclude(self._now, out)
        self._now = max(self._now, now)
        return out

    def edge(self, at: float, active: bool) -> list[Classified]:
        """The contact changed to `active` at `at` (late edges count as happening now)."""
        out = self.advance(at)
        at = self._now
        if active != self._raw:
            if self._raw != self._stable:
                # Back to the debounced level before the debounce time: a bounce.
                self.bounces += 1
            self._raw = active
            self._raw_since = at
        out += self.advance(at)
        return out

    def _conclude(self, t: float, out: list[Classified]) -> None:
        if self._raw != self._stable:
            self._stable = self._raw
            if self._stable:
                self._press_at = self._raw_since
                self._held = False
                out.append(Classified("pressed", t))
            else:
                out.append(
                    Classified(
                        "released",
                        t,
                        was_held=self._held,
                        duration=self._raw_since - self._press_at,
                    )
                )
            return
        # Only reached when the hold deadline is due, the debounced level is pressed and
        # the contact is closed now (next_deadline guarantees all three).
        self._held = True
        out.append(Classified("held", t))


@dataclass(frozen=True, slots=True)
class _Raised:
    event_id: UUID
    at: float


class CancelWindow:
    """Which panics a cancel action may still withdraw.

    A cancel withdraws every panic of this post raised within `window_s` before it that has
    not been withdrawn yet; after the window the incident belongs to the command centre.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._raised: deque[_Raised] = deque(maxlen=64)

    def raised(self, event_id: UUID, at: float) -> None:
        self._raised.append(_Raised(event_id, at))

    def cancel(self, at: float) -> list[UUID]:
        """The panics to withdraw now (oldest first); each is withdrawn only once."""
        gone = [r.event_id for r in self._raised if 0 <= at - r.at <= self.window_s]
        # Panics past the window can never be withdrawn from here again: forget them too.
        self._raised = deque((r for r in self._raised if r.at > at), maxlen=64)
        return gone

    def open_for(self, at: float) -> bool:
        """True while some panic could still be withdrawn."""
        return any(0 <= at - r.at <= self.window_s for r in self._raised)
