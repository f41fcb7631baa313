"""The whole daemon on mock pins with no broker at all: what a guard at an offline post
sees and hears. Presses go through real (mock) pins and the real classifier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile

HOLD = 0.25  # the buttons below need 0.2 s


def quick(gw: Gateway) -> Gateway:
    """The sample post with short hold times, so tests press quickly."""
    assert gw.cancel_button is not None
    assert gw.duty_button is not None
    return gw.model_copy(
        update={
            "panic_buttons": [b.model_copy(update={"hold_time_s": 0.2}) for b in gw.panic_buttons],
            "cancel_button": gw.cancel_button.model_copy(update={"hold_time_s": 0.2}),
            "duty_button": gw.duty_button.model_copy(update={"hold_time_s": 0.2}),
        }
    )


@pytest.fixture
def fleet() -> Iterator[VirtualFleet]:
    with VirtualFleet() as f:
        yield f


@pytest.fixture
def post(fleet: VirtualFleet, gateway: Gateway, profile: EdgeProfile) -> VirtualGateway:
    return fleet.add(
        quick(gateway),
        profile,
        broker_port=None,
        options=VirtualOptions(analog_poll_s=0.05, heartbeat_s=3600),
    )


def siren_log(post: VirtualGateway) -> list[bool]:
    log: list[bool] = []
    post.fleet.call(
        lambda: post.d.hardware.output_listeners.append(
            lambda name, on: log.append(on) if name == "sirene_1" else None
        )
    )
    return log


def test_offline_panic_sounds_the_siren_at_once_and_is_kept(post: VirtualGateway) -> None:
    log = siren_log(post)
    events = post.press("tombol_kebakaran", HOLD)
    (panic,) = events
    assert (panic.kind, panic.incident_type, panic.status) == ("panic", "kebakaran", "actual")
    assert (panic.seq, panic.session_id) == (0, post.session_id)
    # Sounded while the button was still held (before the release), with nobody online.
    assert log[0] is True
    assert post.alarms == [f"local:{panic.event_id}"]
    assert post.outbox_depth == 1
    assert not post.connected


def test_short_press_raises_nothing(post: VirtualGateway) -> None:
    assert post.press("tombol_kebakaran", 0.1) == []
    assert post.alarms == []
    assert post.d.actions.short_presses == 1


def test_bounces_shorter_than_debounce_raise_nothing(post: VirtualGateway) -> None:
    for _ in range(5):
        post.press("tombol_pencurian", 0.01)
    assert post.events == type(post.events)()
    assert post.d.router.bounces() == 5


def test_cancel_within_the_window(post: VirtualGateway) -> None:
    (panic,) = post.press("tombol_pencurian", HOLD)
    (cancel,) = post.press("tombol_batal", HOLD)
    assert cancel.kind == "cancel"
    assert cancel.cancels == panic.event_id
    assert post.alarms == []
    assert not post.siren_on
    # A second cancel has nothing left to withdraw.
    assert post.press("tombol_batal", HOLD) == []


def test_duty_check_in_and_out(post: VirtualGateway) -> None:
    (first,) = post.press("tombol_piket", HOLD)
    (second,) = post.press("tombol_piket", HOLD)
    assert [first.kind, second.kind] == ["duty_check_in", "duty_check_out"]
    assert post.d.telemetry().on_duty is False


def test_maintenance_marks_events_test_and_only_chirps(post: VirtualGateway) -> None:
    post.set_maintenance(30)
    (panic,) = post.press("tombol_kebakaran", HOLD)
    assert panic.status == "test"
    assert post.wait_until(lambda d: not d.alarms.active(), 6)
    post.set_maintenance(0)
    (again,) = post.press("tombol_kebakaran", HOLD)
    assert again.status == "actual"


def test_supervision_and_sensors(post: VirtualGateway) -> None:
    post.set_input("pln_padam", True)
    assert post.wait_until(lambda d: d.actions.mains_lost, 5)
    assert post.d.telemetry().power == "battery"
    post.set_input("tamper_box", True)
    post.set_input("pelampung_banjir", True)
    assert post.wait_until(lambda d: len(post.events) == 3, 5)
    kinds = {e.kind for e in post.events}
    assert kinds == {"mains_lost", "tamper_opened", "sensor_triggered"}
    float_event = next(e for e in post.events if e.kind == "sensor_triggered")
    assert float_event.incident_type == "banjir"
    assert post.alarms == ["sensor:pelampung_banjir"]
    post.set_input("pelampung_banjir", False)
    assert post.wait_until(lambda d: not d.alarms.active(), 5)
    assert post.events[-1].kind == "sensor_cleared"


def test_river_level_with_hysteresis(post: VirtualGateway) -> None:
    post.set_level("level_sungai", 0.72)
    assert post.wait_until(lambda d: any(e.kind == "level_high" for e in post.events), 5)
    high = post.events[-1]
    assert high.value == pytest.approx(0.72, abs=0.002)
    post.set_level("level_sungai", 0.6)  # between normal and high: no change
    post.set_level("level_sungai", 0.5)
    assert post.wait_until(lambda d: post.events[-1].kind == "level_normal", 5)
    assert [e.kind for e in post.events] == ["level_high", "level_normal"]


def test_a_cut_siren_cable_is_reported(post: VirtualGateway) -> None:
    post.cut_siren_wire()
    post.press("tombol_kebakaran", HOLD)
    assert post.wait_until(lambda d: d.actions.siren_fault, 5)
    assert post.events[-1].kind == "siren_fault"
    assert post.d.led.mode == "alarm"  # the alarm shows first; the fault after it


def test_many_gateways_on_the_same_pins_in_one_process(
    fleet: VirtualFleet, gateway: Gateway, profile: EdgeProfile
) -> None:
    options = VirtualOptions(durable=False, telemetry=False)
    posts = [
        fleet.add(quick(gateway), profile, broker_port=None, options=options, start=False)
        for _ in range(20)
    ]
    fleet.start_all(posts)
    posts[3].press("tombol_kebakaran", HOLD)
    assert [len(p.events) for p in posts] == [0, 0, 0, 1] + [0] * 16
    assert [p.siren_on or bool(p.alarms) for p in posts] == [False] * 3 + [True] + [False] * 16
