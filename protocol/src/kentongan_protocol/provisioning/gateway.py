"""Model of one gateway file (firmware_configs/gateways/<id>.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field, model_validator

from kentongan_protocol.ids import Id
from kentongan_protocol.provisioning.district import Label, Point, Strict

BcmPin = Annotated[int, Field(ge=2, le=27, description="BCM GPIO number")]
# The MCP3008 sits on SPI0: CE0, MISO, MOSI, SCLK.
SPI0_PINS = (8, 9, 10, 11)


class Credentials(Strict):
    """Where the daemon finds its MQTT password: a root-only file or an environment variable."""

    file: Annotated[str, Field(pattern=r"^/")] | None = None
    env: Annotated[str, Field(pattern=r"^KENTONGAN_[A-Z0-9_]+$")] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Credentials:
        if (self.file is None) == (self.env is None):
            msg = "give exactly one of file or env"
            raise ValueError(msg)
        return self


class BrokerLink(Strict):
    host: Annotated[str, Field(min_length=1, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] = 8883
    tls: bool = True
    ca_file: Annotated[str, Field(pattern=r"^/")] | None = None
    credentials: Credentials
    keepalive_s: Annotated[int, Field(ge=5, le=13)] = 10


class PanicButton(Strict):
    input: Id
    pin: BcmPin
    incident_type: Id
    hold_time_s: Annotated[float, Field(ge=0.2, le=10)] = 1.5


class PlainButton(Strict):
    input: Id
    pin: BcmPin
    hold_time_s: Annotated[float, Field(ge=0.1, le=10)] = 1.0


class Output(Strict):
    output: Id
    pin: BcmPin
    active_high: bool = True


class SupervisionInput(Strict):
    input: Id
    pin: BcmPin
    active_low: bool = True


class Supervision(Strict):
    mains_lost: SupervisionInput | None = None
    battery_low: SupervisionInput | None = None
    tamper: SupervisionInput | None = None
    siren_feedback: SupervisionInput | None = None


class DigitalSensor(Strict):
    input: Id
    kind: Literal["smoke", "pir", "door", "flood_float"]
    pin: BcmPin
    incident_type: Id
    active_low: bool = False


class AnalogSensor(Strict):
    """A level read through an MCP3008 channel (0..1); `high` raises, `normal` clears."""

    input: Id
    chip: Literal["mcp3008"] = "mcp3008"
    channel: Annotated[int, Field(ge=0, le=7)]
    incident_type: Id
    high: Annotated[float, Field(gt=0, lt=1)]
    normal: Annotated[float, Field(gt=0, lt=1)]

    @model_validator(mode="after")
    def _hysteresis(self) -> AnalogSensor:
        if self.normal >= self.high:
            msg = "normal must be below high (hysteresis)"
            raise ValueError(msg)
        return self


class OutboxSettings(Strict):
    path: Annotated[str, Field(pattern=r"^/")] = "/var/lib/kentongan/outbox.db"
    max_events: Annotated[int, Field(ge=1000, le=10_000_000)] = 100_000
    resend_after_s: Annotated[float, Field(ge=1, le=600)] = 10


class Gateway(Strict):
    """One pos kamling: where it is, how it reaches the broker, what is wired to which pin."""

    gateway_id: Id
    district: Id
    post_name: Label
    kampung: Id
    location: Point
    broker: BrokerLink
    heartbeat_s: Annotated[int, Field(ge=5, le=3600)] = 30
    panic_buttons: Annotated[list[PanicButton], Field(min_length=1)]
    cancel_button: PlainButton | None = None
    duty_button: PlainButton | None = None
    sirens: Annotated[list[Output], Field(min_length=1)]
    strobe: Output | None = None
    status_led: Output | None = None
    supervision: Supervision = Supervision()
    sensors: list[DigitalSensor] = []
    analog_sensors: list[AnalogSensor] = []
    outbox: OutboxSettings = OutboxSettings()

    def pins(self) -> Iterator[tuple[tuple[str | int, ...], int]]:
        """Every pin in use with the key path that claims it (for the conflict check)."""
        for i, b in enumerate(self.panic_buttons):
            yield ("panic_buttons", i, "pin"), b.pin
        for name in ("cancel_button", "duty_button", "strobe", "status_led"):
            item = getattr(self, name)
            if item is not None:
                yield (name, "pin"), item.pin
        for i, s in enumerate(self.sirens):
            yield ("sirens", i, "pin"), s.pin
        for name in ("mains_lost", "battery_low", "tamper", "siren_feedback"):
            sup = getattr(self.supervision, name)
            if sup is not None:
                yield ("supervision", name, "pin"), sup.pin
        for i, d in enumerate(self.sensors):
            yield ("sensors", i, "pin"), d.pin
        if self.analog_sensors:
            for pin in SPI0_PINS:
                yield ("analog_sensors", 0, "channel"), pin

    def input_names(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Every input and output name with its key path (names must be unique per gateway)."""
        for i, b in enumerate(self.panic_buttons):
            yield ("panic_buttons", i, "input"), b.input
        for name in ("cancel_button", "duty_button"):
            item = getattr(self, name)
            if item is not None:
                yield (name, "input"), item.input
        for name in ("mains_lost", "battery_low", "tamper", "siren_feedback"):
            sup = getattr(self.supervision, name)
            if sup is not None:
                yield ("supervision", name, "input"), sup.input
        for i, d in enumerate(self.sensors):
            yield ("sensors", i, "input"), d.input
        for i, a in enumerate(self.analog_sensors):
            yield ("analog_sensors", i, "input"), a.input
        for i, s in enumerate(self.sirens):
            yield ("sirens", i, "output"), s.output
        for name in ("strobe", "status_led"):
            out = getattr(self, name)
            if out is not None:
                yield (name, "output"), out.output

    def incident_types(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        for i, b in enumerate(self.panic_buttons):
            yield ("panic_buttons", i, "incident_type"), b.incident_type
        for i, d in enumerate(self.sensors):
            yield ("sensors", i, "incident_type"), d.incident_type
        for i, a in enumerate(self.analog_sensors):
            yield ("analog_sensors", i, "incident_type"), a.incident_type
