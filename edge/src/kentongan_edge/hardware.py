"""The hardware adapter: the only module that imports gpiozero.

Inputs report raw edges with the monotonic time they were seen; all debouncing and hold
timing happens in `press.py`, identically on a Pi and on mock pins. gpiozero runs its edge
callbacks on its own threads: `on_edge` must only hand the edge over (the daemon uses
`loop.call_soon_threadsafe`), never do I/O.

Every device is built on one explicit pin factory. For mock pins each gateway gets its own
`MockFactory` instance: in gpiozero 2 its pins and reservations belong to the instance, so
many virtual gateways with the same BCM numbers live side by side in one process. The
MCP3008 is read through one plain SPI interface of that factory (not gpiozero's shared SPI
classes, whose cache is keyed by pin numbers across all factories).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice, GPIOZeroError
from gpiozero.pins.mock import MockFactory, MockSPIDevice
from kentongan_protocol.provisioning.gateway import SPI0_PINS, Gateway

from kentongan_edge.errors import HardwareError

PinFactory = Any
"""A gpiozero pin factory (gpiozero has no type hints); only this module touches one."""

EdgeCallback = Callable[[str, bool, float], None]
"""on_edge(input name, active, monotonic seconds); called on a GPIO thread."""

SPI_CLOCK, SPI_MOSI, SPI_MISO, SPI_SELECT = 11, 10, 9, 8
_ADC_FULL_SCALE = 1023


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One digital input as wired: BCM pin and whether it is active when pulled low."""

    name: str
    pin: int
    active_low: bool
    role: str


@dataclass(frozen=True, slots=True)
class OutputSpec:
    name: str
    pin: int
    active_high: bool
    role: str


def input_specs(gw: Gateway) -> list[InputSpec]:
    """Every digital input of a gateway file; buttons are pull-up, pressed when low."""
    specs = [InputSpec(b.input, b.pin, True, "panic") for b in gw.panic_buttons]
    if gw.cancel_button is not None:
        specs.append(InputSpec(gw.cancel_button.input, gw.cancel_button.pin, True, "cancel"))
    if gw.duty_button is not None:
        specs.append(InputSpec(gw.duty_button.input, gw.duty_button.pin, True, "duty"))
    sup = gw.supervision
    for role in ("mains_lost", "battery_low", "tamper", "siren_feedback"):
        item = getattr(sup, role)
        if item is not None:
            specs.append(InputSpec(item.input, item.pin, item.active_low, role))
    specs += [InputSpec(s.input, s.pin, s.active_low, "sensor") for s in gw.sensors]
    return specs


def output_specs(gw: Gateway) -> list[OutputSpec]:
    specs = [OutputSpec(s.output, s.pin, s.active_high, "siren") for s in gw.sirens]
    if gw.strobe is not None:
        specs.append(OutputSpec(gw.strobe.output, gw.strobe.pin, gw.strobe.active_high, "strobe"))
    if gw.status_led is not None:
        led = gw.status_led
        specs.append(OutputSpec(led.output, led.pin, led.active_high, "status_led"))
    return specs


def pin_map(gw: Gateway) -> Iterator[tuple[int, str, str]]:
    """(BCM pin, role, name) of everything wired, for `check` and the README."""
    for i in input_specs(gw):
        yield i.pin, i.role, i.name
    for o in output_specs(gw):
        yield o.pin, o.role, o.name
    if gw.analog_sensors:
        names = ", ".join(f"{a.input}@ch{a.channel}" for a in gw.analog_sensors)
        for pin, line in zip(SPI0_PINS, ("CE0", "MISO", "MOSI", "SCLK"), strict=True):
            yield pin, f"mcp3008 {line}", names


def mock_pins() -> PinFactory:
    """A fresh set of mock pins for one (virtual or simulated) gateway."""
    return MockFactory()


class _MockMcp3008(MockSPIDevice):  # type: ignore[misc]
    """An MCP3008 answering on a mock factory's SPI0 pins; `levels[ch]` is 0..1."""

    def __init__(self, factory: MockFactory) -> None:
        super().__init__(SPI_CLOCK, SPI_MOSI, SPI_MISO, SPI_SELECT, pin_factory=factory)
        self.levels = [0.0] * 8
        self._phase = "idle"

    def on_start(self) -> None:
        super().on_start()
        self._phase = "idle"

    def on_bit(self) -> None:
        # Start bit, then SGL/DIFF, then three channel bits; the answer is a null bit
        # and ten data bits, which tx_word sends on the following clocks.
        rx: list[int] = self.rx_buf
        if self._phase == "idle":
            if rx[-1]:
                self._phase = "mode"
                rx.clear()
        elif self._phase == "mode":
            self._phase = "channel"
            rx.clear()
        elif self._phase == "channel":
            if len(rx) == 3:
                level = min(max(self.levels[self.rx_word()], 0.0), 1.0)
                self.tx_word(round(level * _ADC_FULL_SCALE), 12)
                self._phase = "answer"
        elif not self.tx_buf:
            self._phase = "idle"
            rx.clear()


class _BitBangSpi:
    """An SPI mode-0 master clocked by hand on one mock factory's SPI0 pins.

    gpiozero's own software SPI bus is a shared device cached by pin numbers across every
    factory, so two virtual gateways would read through one bus; this one belongs to its
    factory alone.
    """

    def __init__(self, factory: MockFactory) -> None:
        self._clock = DigitalOutputDevice(SPI_CLOCK, pin_factory=factory)
        self._mosi = DigitalOutputDevice(SPI_MOSI, pin_factory=factory)
        self._miso = DigitalInputDevice(SPI_MISO, pin_factory=factory)
        self._select = DigitalOutputDevice(SPI_SELECT, active_high=False, pin_factory=factory)

    def transfer(self, data: list[int]) -> list[int]:
        out = []
        self._select.on()
        try:
            for word in data:
                result = 0
                for bit in range(7, -1, -1):
                    self._mosi.value = (word >> bit) & 1
                    self._clock.on()
                    if self._miso.is_active:
                        result |= 1 << bit
                    self._clock.off()
                out.append(result)
        finally:
            self._select.off()
        return out

    def close(self) -> None:
        for dev in (self._select, self._clock, self._mosi, self._miso):
            dev.close()


class Hardware:
    """The gateway's devices on one pin factory (the Pi's default one when None)."""

    def __init__(
        self, gw: Gateway, on_edge: EdgeCallback, *, factory: PinFactory | None = None
    ) -> None:
        self._on_edge = on_edge
        self.mock = factory is not None
        fb = gw.supervision.siren_feedback
        self._feedback = None if fb is None else fb.input
        self.siren_circuit_ok = True
        """Mock pins only: the siren-feedback input follows the sirens while this holds
        (a healthy circuit); set False to simulate a cut siren cable."""
        self.output_listeners: list[Callable[[str, bool], None]] = []
        """Called on the loop after each output change (simulate's display, tests)."""
        self._inputs: dict[str, Any] = {}
        self._specs = {s.name: s for s in input_specs(gw)}
        self._outputs: dict[str, Any] = {}
        self._out_specs = {o.name: o for o in output_specs(gw)}
        self._adc_channels = {a.input: a.channel for a in gw.analog_sensors}
        self._adc_mock: _MockMcp3008 | None = None
        self._spi: Any = None
        self.factory: Any = factory
        try:
            self._open(factory)
        except (GPIOZeroError, OSError, ValueError) as exc:
            self.close()
            msg = f"cannot set up GPIO: {exc}"
            raise HardwareError(msg) from exc

    def _open(self, factory: PinFactory | None) -> None:
        for spec in self._specs.values():
            dev = DigitalInputDevice(spec.pin, pull_up=spec.active_low, pin_factory=factory)
            name = spec.name
            # gpiozero calls these on its own thread: stamp the time and hand over, nothing else.
            dev.when_activated = lambda n=name: self._on_edge(n, True, time.monotonic())
            dev.when_deactivated = lambda n=name: self._on_edge(n, False, time.monotonic())
            self._inputs[name] = dev
            if self.factory is None:
                self.factory = dev.pin_factory
        for out in self._out_specs.values():
            self._outputs[out.name] = DigitalOutputDevice(
                out.pin, active_high=out.active_high, initial_value=False, pin_factory=factory
            )
        if self._adc_channels:
            if factory is not None:
                # The mock chip must own the SPI pins before the master claims them.
                self._adc_mock = _MockMcp3008(factory)
                self._spi = _BitBangSpi(factory)
            else:
                self._spi = self.factory.spi(port=0, device=0)

    def close(self) -> None:
        for dev in [*self._inputs.values(), *self._outputs.values()]:
            dev.close()
        self._inputs.clear()
        self._outputs.clear()
        if self._spi is not None:
            self._spi.close()
            self._spi = None
        if self._adc_mock is not None:
            self._adc_mock.close()
            self._adc_mock = None

    # --- the daemon's side -------------------------------------------------------------------

    def is_active(self, name: str) -> bool:
        """The input's level right now (undebounced)."""
        return bool(self._inputs[name].is_active)

    def set_output(self, name: str, on: bool) -> None:
        dev = self._outputs[name]
        if on:
            dev.on()
        else:
            dev.off()
        for listener in self.output_listeners:
            listener(name, on)
        if self.mock:
            pin = dev.pin
            if len(pin.states) > 256:  # MockPin keeps every change forever otherwise
                pin.clear_states()
            spec = self._out_specs[name]
            if spec.role == "siren" and self._feedback is not None:
                sounding = any(
                    self._outputs[o.name].value
                    for o in self._out_specs.values()
                    if o.role == "siren"
                )
                self.drive(self._feedback, sounding and self.siren_circuit_ok)

    def output_is_on(self, name: str) -> bool:
        return bool(self._outputs[name].value)

    def outputs(self, role: str) -> list[str]:
        return [o.name for o in self._out_specs.values() if o.role == role]

    def read_level(self, name: str) -> float:
        """An analog input through the MCP3008, scaled 0..1."""
        ch = self._adc_channels[name]
        # MCP3008 single-ended read: start bit, SGL=1 and channel, then 10 bits come back.
        reply = self._spi.transfer([0x01, (0x08 | ch) << 4, 0x00])
        return float(((reply[1] & 0x03) << 8) | reply[2]) / _ADC_FULL_SCALE

    # --- mock pins (tests, simulate, virtual gateways) ---------------------------------------

    def drive(self, name: str, active: bool) -> None:
        """Move a mock input to its active (or idle) level; edges fire as on a Pi."""
        if not self.mock:
            msg = "drive() needs mock pins"
            raise HardwareError(msg)
        spec = self._specs[name]
        pin = self._inputs[name].pin
        high = active != spec.active_low
        if high:
            pin.drive_high()
        else:
            pin.drive_low()

    def set_level(self, name: str, level: float) -> None:
        """Put a mock analog input at `level` (0..1)."""
        if self._adc_mock is None:
            msg = "set_level() needs mock pins and an analog sensor"
            raise HardwareError(msg)
        self._adc_mock.levels[self._adc_channels[name]] = level

    def input_names(self) -> list[str]:
        return list(self._specs)

    def spec(self, name: str) -> InputSpec:
        return self._specs[name]
