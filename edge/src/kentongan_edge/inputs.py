"""From raw edges to what happened at the post: a panic held, a cancel, a duty check-in,
mains lost, smoke, water rising.

Runs on the event loop. The hardware hands each edge over with the time it was seen; one
`PressClassifier` per input decides, and a timer per input wakes it at its next deadline
(a hold completing, a debounce ending) so a hold is confirmed while the guard still holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kentongan_protocol.provisioning.gateway import AnalogSensor, DigitalSensor, Gateway

from kentongan_edge.hardware import input_specs
from kentongan_edge.press import Classified, PressClassifier
from kentongan_edge.timers import Handle, Timers

_LOGGER = logging.getLogger(__name__)

BUTTON_DEBOUNCE_S = 0.05
SENSOR_DEBOUNCE_S = 0.2
SUPERVISION_DEBOUNCE_S = 0.5
SUPERVISION_ROLES = ("mains_lost", "battery_low", "tamper")


class InputHandlers(Protocol):
    def panic_held(self, name: str, incident_type: str) -> None: ...

    def cancel_held(self, name: str) -> None: ...

    def duty_held(self, name: str) -> None: ...

    def short_press(self, name: str) -> None: ...

    def supervision_changed(self, role: str, name: str, active: bool) -> None: ...

    def sensor_changed(self, sensor: DigitalSensor, active: bool) -> None: ...

    def level_changed(self, sensor: AnalogSensor, high: bool, value: float) -> None: ...


@dataclass
class _Input:
    name: str
    role: str
    classifier: PressClassifier
    timer: Handle | None = None


class InputRouter:
    """Classifies every digital input and polls the analog ones."""

    def __init__(
        self,
        gw: Gateway,
        timers: Timers,
        handlers: InputHandlers,
        *,
        level_now: Callable[[str], bool],
        read_level: Callable[[str], float],
        analog_poll_s: float = 1.0,
        log: logging.LoggerAdapter[logging.Logger] | logging.Logger = _LOGGER,
    ) -> None:
        self._timers = timers
        self._handlers = handlers
        self._read_level = read_level
        self._poll_s = analog_poll_s
        self._log = log
        self._inputs: dict[str, _Input] = {}
        self._sensors = {s.input: s for s in gw.sensors}
        self._incident = {b.input: b.incident_type for b in gw.panic_buttons}
        self._analog = list(gw.analog_sensors)
        self._high: dict[str, bool] = {}
        self._poll: Handle | None = None
        holds = {b.input: b.hold_time_s for b in gw.panic_buttons}
        for plain in (gw.cancel_button, gw.duty_button):
            if plain is not None:
                holds[plain.input] = plain.hold_time_s
        now = timers.time()
        for spec in input_specs(gw):
            if spec.role == "siren_feedback":
                continue  # read at each strike, not classified
            debounce = (
                BUTTON_DEBOUNCE_S
                if spec.role in ("panic", "cancel", "duty")
                else SENSOR_DEBOUNCE_S
                if spec.role == "sensor"
                else SUPERVISION_DEBOUNCE_S
            )
            active = level_now(spec.name)
            cls = PressClassifier(
                debounce_s=debounce, hold_s=holds.get(spec.name), active=active, now=now
            )
            self._inputs[spec.name] = _Input(spec.name, spec.role, cls)
            if active and spec.role in ("panic", "cancel", "duty"):
                self._log.warning(
                    "button %s is pressed at start: stuck? ignored until released", spec.name
                )

    def start(self) -> None:
        """Report inputs already active (mains lost at boot, smoke) and start analog polling."""
        for inp in self._inputs.values():
            if inp.classifier.active:
                self._dispatch(inp, Classified("pressed", self._timers.time()))
        if self._analog:
            self._poll_analog()

    def close(self) -> None:
        for inp in self._inputs.values():
            if inp.timer is not None:
                inp.timer.cancel()
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None

    def active(self, name: str) -> bool:
        inp = self._inputs.get(name)
        return inp is not None and inp.classifier.active

    def bounces(self) -> int:
        return sum(i.classifier.bounces for i in self._inputs.values())

    def set_hold(self, name: str, hold_s: float) -> None:
        inp = self._inputs.get(name)
        if inp is not None:
            inp.classifier.hold_s = hold_s

    def edge(self, name: str, active: bool, at: float) -> None:
        """An edge seen at `at` (call on the loop)."""
        inp = self._inputs.get(name)
        if inp is None:
            return
        for c in inp.classifier.edge(at, active):
            self._dispatch(inp, c)
        self._rearm(inp)

    def _due(self, inp: _Input) -> None:
        inp.timer = None
        for c in inp.classifier.advance(self._timers.time()):
            self._dispatch(inp, c)
        self._rearm(inp)

    def _rearm(self, inp: _Input) -> None:
        if inp.timer is not None:
            inp.timer.cancel()
            inp.timer = None
        due = inp.classifier.next_deadline()
        if due is not None:
            inp.timer = self._timers.call_at(due, lambda: self._due(inp))

    def _dispatch(self, inp: _Input, c: Classified) -> None:
        h = self._handlers
        role = inp.role
        if role == "panic":
            if c.change == "held":
                h.panic_held(inp.name, self._incident[inp.name])
            elif c.change == "released" and not c.was_held:
                h.short_press(inp.name)
        elif role in ("cancel", "duty"):
            if c.change == "held":
                (h.cancel_held if role == "cancel" else h.duty_held)(inp.name)
            elif c.change == "released" and not c.was_held:
                h.short_press(inp.name)
        elif role == "sensor" and c.change != "held":
            h.sensor_changed(self._sensors[inp.name], c.change == "pressed")
        elif role in SUPERVISION_ROLES and c.change != "held":
            h.supervision_changed(role, inp.name, c.change == "pressed")

    def _poll_analog(self) -> None:
        self._poll = None
        for a in self._analog:
            try:
                value = self._read_level(a.input)
            except Exception:
                self._log.exception("cannot read %s from the MCP3008", a.input)
                continue
            high = self._high.get(a.input, False)
            if not high and value >= a.high:
                self._high[a.input] = True
                self._handlers.level_changed(a, True, value)
            elif high and value <= a.normal:
                self._high[a.input] = False
                self._handlers.level_changed(a, False, value)
        self._poll = self._timers.call_at(self._timers.time() + self._poll_s, self._poll_analog)
