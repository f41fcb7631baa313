"""The gpiozero adapter on mock pins: each gateway's pins are its own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
from kentongan_edge.hardware import Hardware, pin_map
from kentongan_protocol.provisioning.gateway import Gateway


@pytest.fixture
def two(
    gateway: Gateway,
) -> Iterator[tuple[Hardware, Hardware, list[tuple[int, str, bool, float]]]]:
    seen: list[tuple[int, str, bool, float]] = []
    a = Hardware(gateway, lambda n, on, t: seen.append((1, n, on, t)), factory=MockFactory())
    b = Hardware(gateway, lambda n, on, t: seen.append((2, n, on, t)), factory=MockFactory())
    yield a, b, seen
    a.close()
    b.close()


def test_same_pins_on_two_gateways_do_not_collide(
    gateway: Gateway, two: tuple[Hardware, Hardware, list[tuple[int, str, bool, float]]]
) -> None:
    a, b, seen = two
    before = time.monotonic()
    a.drive("tombol_kebakaran", True)
    assert [(g, n, on) for g, n, on, _ in seen] == [(1, "tombol_kebakaran", True)]
    assert seen[0][3] >= before
    assert a.is_active("tombol_kebakaran")
    assert not b.is_active("tombol_kebakaran")
    a.set_output("strobo", True)
    assert a.output_is_on("strobo")
    assert not b.output_is_on("strobo")
    a.set_level("level_sungai", 0.8)
    b.set_level("level_sungai", 0.3)
    assert a.read_level("level_sungai") == pytest.approx(0.8, abs=0.002)
    assert b.read_level("level_sungai") == pytest.approx(0.3, abs=0.002)
    # No process-wide pin factory was created along the way.
    assert Device.pin_factory is None


def test_buttons_are_pulled_up_and_active_low(
    two: tuple[Hardware, Hardware, list[tuple[int, str, bool, float]]],
) -> None:
    a, _, seen = two
    pin = a.factory.pin(27)  # tombol_kebakaran
    assert pin.state  # idle: pulled high
    pin.drive_low()
    assert seen[-1][1:3] == ("tombol_kebakaran", True)
    pin.drive_high()
    assert seen[-1][1:3] == ("tombol_kebakaran", False)


def test_siren_feedback_follows_a_healthy_siren_circuit(
    two: tuple[Hardware, Hardware, list[tuple[int, str, bool, float]]],
) -> None:
    a, _, _ = two
    a.set_output("sirene_1", True)
    assert a.is_active("umpan_sirene")
    a.set_output("sirene_1", False)
    assert not a.is_active("umpan_sirene")
    a.siren_circuit_ok = False
    a.set_output("sirene_1", True)
    assert not a.is_active("umpan_sirene")


def test_pin_map_lists_every_wire(gateway: Gateway) -> None:
    pins = {pin: (role, name) for pin, role, name in pin_map(gateway)}
    assert pins[17] == ("panic", "tombol_pencurian")
    assert pins[21] == ("siren_feedback", "umpan_sirene")
    assert pins[23] == ("siren", "sirene_1")
    assert pins[11][0] == "mcp3008 SCLK"
    assert len(pins) == len(list(pin_map(gateway)))  # no pin listed twice
