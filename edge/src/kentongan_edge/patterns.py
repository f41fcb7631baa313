"""Siren rhythms (irama kentongan) and the board of alarms that decides what the siren plays.

A pattern is groups of `strikes` beats of `strike_ms` with `gap_ms` between them and
`group_pause_ms` after each group; 0 strikes is *titir*, beating without pause. Several
alarms may be active at once (a local panic, a command from the command centre, an area
alarm): the newest plays; each stops by itself when its duration runs out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kentongan_protocol.provisioning.district import SirenPattern

from kentongan_edge.timers import Handle, Timers

CHIRP = SirenPattern(
    description="Uji sirene: bunyi pendek", strikes=1, strike_ms=150, gap_ms=350, group_pause_ms=0
)
"""The self-test chirp; not a kentongan rhythm, so nobody mistakes it for an alarm."""


def cycle(p: SirenPattern) -> list[tuple[bool, float]]:
    """One repetition of a pattern as (siren on?, seconds) steps."""
    strike, gap = p.strike_ms / 1000, p.gap_ms / 1000
    if p.strikes == 0:
        return [(True, strike), (False, gap)]
    steps: list[tuple[bool, float]] = []
    for i in range(p.strikes):
        steps.append((True, strike))
        last = i == p.strikes - 1
        steps.append((False, max(p.group_pause_ms / 1000, gap) if last else gap))
    return steps


def strikes_within(p: SirenPattern, seconds: float) -> int:
    """How many strikes a pattern sounds in its first `seconds` (for tests and docs)."""
    t, n = 0.0, 0
    steps = cycle(p)
    while True:
        for on, dur in steps:
            if t >= seconds:
                return n
            n += on
            t += dur


@dataclass
class _Alarm:
    key: str
    pattern: SirenPattern
    ends_at: float
    strobe: bool
    order: int
    end_timer: Handle | None = field(default=None, repr=False)


class AlarmBoard:
    """Active alarms and the pattern player of the post's sirens (and strobe).

    `sirens(on)` and `strobe(on)` switch the outputs; `strike_done()` is called at the end
    of each strike, while the siren is still on (siren-circuit supervision reads its
    feedback input there); `changed()` after the set of alarms changes.
    """

    def __init__(
        self,
        timers: Timers,
        *,
        sirens: Callable[[bool], None],
        strobe: Callable[[bool], None] | None = None,
        strike_done: Callable[[], None] | None = None,
        changed: Callable[[], None] | None = None,
    ) -> None:
        self._timers = timers
        self._sirens = sirens
        self._strobe = strobe
        self._strike_done = strike_done
        self._changed = changed
        self._alarms: dict[str, _Alarm] = {}
        self._order = 0
        self._playing: _Alarm | None = None
        self._steps: list[tuple[bool, float]] = []
        self._step = 0
        self._step_at = 0.0
        self._step_timer: Handle | None = None
        self._siren_on = False
        self._strobe_on = False

    @property
    def playing(self) -> str | None:
        """Key of the alarm the siren plays now."""
        return None if self._playing is None else self._playing.key

    @property
    def siren_on(self) -> bool:
        return self._siren_on

    def active(self) -> list[str]:
        return list(self._alarms)

    def is_active(self, key: str) -> bool:
        return key in self._alarms

    def start(
        self, key: str, pattern: SirenPattern, duration_s: float, *, strobe: bool = True
    ) -> None:
        """Sound `pattern` for `duration_s` (restarting the alarm if `key` is active)."""
        old = self._alarms.pop(key, None)
        if old is not None and old.end_timer is not None:
            old.end_timer.cancel()
        self._order += 1
        now = self._timers.time()
        alarm = _Alarm(key, pattern, now + duration_s, strobe, self._order)
        alarm.end_timer = self._timers.call_at(alarm.ends_at, lambda: self.stop(key))
        self._alarms[key] = alarm
        self._choose()

    def stop(self, key: str) -> bool:
        """Silence one alarm; another active alarm, if any, takes over the siren."""
        alarm = self._alarms.pop(key, None)
        if alarm is None:
            return False
        if alarm.end_timer is not None:
            alarm.end_timer.cancel()
        self._choose()
        return True

    def stop_all(self) -> None:
        for key in list(self._alarms):
            self.stop(key)

    def _choose(self) -> None:
        newest = max(self._alarms.values(), key=lambda a: a.order, default=None)
        if newest is not self._playing:
            self._playing = newest
            if self._step_timer is not None:
                self._step_timer.cancel()
                self._step_timer = None
            if newest is None:
                self._set_siren(on=False)
            else:
                self._steps = cycle(newest.pattern)
                self._step = 0
                self._step_at = self._timers.time()
                self._run_step()
        self._set_strobe(any(a.strobe for a in self._alarms.values()))
        if self._changed is not None:
            self._changed()

    def _run_step(self) -> None:
        on, dur = self._steps[self._step]
        if not on and self._siren_on and self._strike_done is not None:
            self._strike_done()
        self._set_siren(on=on)
        # Plan from the previous step's planned time so the rhythm does not drift.
        self._step_at = max(self._step_at + dur, self._timers.time())
        self._step = (self._step + 1) % len(self._steps)
        self._step_timer = self._timers.call_at(self._step_at, self._run_step)

    def _set_siren(self, *, on: bool) -> None:
        if on != self._siren_on:
            self._siren_on = on
            self._sirens(on)

    def _set_strobe(self, on: bool) -> None:
        if on != self._strobe_on:
            self._strobe_on = on
            if self._strobe is not None:
                self._strobe(on)
