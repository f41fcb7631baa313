"""The panel LED: one look tells a guard or technician how the post is doing.

steady on = online; slow blink = offline (events are kept); fast blink = alarm sounding;
double blink = fault (broker refused the credentials, siren circuit broken, storage error);
long on, short off = maintenance (events marked test).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from kentongan_edge.timers import Handle, Timers

LedMode = Literal["online", "offline", "alarm", "fault", "maintenance"]

BLINKS: dict[LedMode, list[tuple[bool, float]]] = {
    "online": [(True, 0.0)],
    "offline": [(True, 1.0), (False, 1.0)],
    "alarm": [(True, 0.1), (False, 0.1)],
    "fault": [(True, 0.2), (False, 0.2), (True, 0.2), (False, 1.4)],
    "maintenance": [(True, 1.8), (False, 0.2)],
}


class StatusLed:
    """Plays a mode's blink on the LED output; with `animate=False` shows a steady level
    (on unless offline), which costs no timers (large fleets of virtual gateways)."""

    def __init__(
        self, timers: Timers, set_led: Callable[[bool], None] | None, *, animate: bool = True
    ) -> None:
        self._timers = timers
        self._set = set_led
        self._animate = animate
        self.mode: LedMode | None = None
        self._step = 0
        self._timer: Handle | None = None
        self._lit: bool | None = None

    def show(self, mode: LedMode) -> None:
        if mode == self.mode:
            return
        self.mode = mode
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._set is None:
            return
        blink = BLINKS[mode]
        if not self._animate or len(blink) == 1:
            self._light(mode != "offline")
            return
        self._step = 0
        self._run()

    def _run(self) -> None:
        blink = BLINKS[self.mode or "offline"]
        on, dur = blink[self._step]
        self._light(on)
        self._step = (self._step + 1) % len(blink)
        self._timer = self._timers.call_at(self._timers.time() + dur, self._run)

    def _light(self, on: bool) -> None:
        if on != self._lit and self._set is not None:
            self._lit = on
            self._set(on)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
