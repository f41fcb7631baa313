"""The press classifier, fuzzed over random pulse trains (times in whole milliseconds, so
the arithmetic is exact), then a few cases a guard would recognise."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kentongan_edge.press import CancelWindow, Classified, PressClassifier

DEBOUNCE = 50
HOLD = 1000

# Bounces shorter than the debounce time, ordinary gaps and short presses, and long holds.
durations = st.one_of(
    st.integers(1, DEBOUNCE - 1),
    st.integers(DEBOUNCE, HOLD - 1),
    st.integers(HOLD, 3 * HOLD),
)


@dataclass
class Run:
    start: int
    end: int
    active: bool


def runs_of(pulses: list[int]) -> list[Run]:
    """Alternating levels starting active at t=100 after an idle start."""
    out, t, active = [Run(0, 100, False)], 100, True
    for d in pulses:
        out.append(Run(t, t + d, active))
        t += d
        active = not active
    out.append(Run(t, t + 10 * HOLD, False))  # released at the end, for a long while
    return out


def classify(runs: list[Run]) -> list[Classified]:
    c = PressClassifier(debounce_s=DEBOUNCE, hold_s=HOLD, now=0)
    out: list[Classified] = []
    for r in runs[1:]:
        # What the event loop does: wake at each deadline before the next edge arrives.
        while (due := c.next_deadline()) is not None and due <= r.start:
            out += c.advance(due)
        out += c.edge(r.start, r.active)
    out += c.advance(runs[-1].end)
    return out


def segments(runs: list[Run]) -> list[tuple[int, int, list[Run]]]:
    """Presses as a person means them: active runs joined across gaps shorter than the
    debounce time."""
    segs: list[tuple[int, int, list[Run]]] = []
    for r in runs:
        if not r.active:
            continue
        if segs and r.start - segs[-1][1] < DEBOUNCE:
            start, _, members = segs.pop()
            segs.append((start, r.end, [*members, r]))
        else:
            segs.append((r.start, r.end, [r]))
    return segs


def active_at(runs: list[Run], t: float) -> bool:
    return any(r.start <= t < r.end and r.active for r in runs) or any(
        r.end == t and r.active for r in runs
    )


@given(st.lists(durations, min_size=1, max_size=40))
def test_no_missed_and_no_doubled_panic(pulses: list[int]) -> None:
    runs = runs_of(pulses)
    held = [c.at for c in classify(runs) if c.change == "held"]
    for start, end, members in segments(runs):
        inside = [h for h in held if start <= h <= end]
        # Never two panics from one press, however much the contact bounces.
        assert len(inside) <= 1
        first_long = next((r for r in members if r.end - r.start >= HOLD), None)
        if first_long is not None:
            # A hold that lasted the hold time always raises exactly one panic, in time.
            assert len(inside) == 1
            assert inside[0] <= first_long.end
    for h in held:
        seg = next(s for s in segments(runs) if s[0] <= h <= s[1])
        # No panic before the hold time, and none while the contact is open.
        assert h - seg[0] >= HOLD
        assert active_at(runs, h)


@given(st.lists(st.integers(1, DEBOUNCE - 1), min_size=1, max_size=60))
def test_pulses_shorter_than_debounce_never_count(pulses: list[int]) -> None:
    changes = classify(runs_of(pulses))
    # Only a final idle-level pulse can leave the level pressed long enough to count.
    assert all(c.change != "held" for c in changes)


def test_a_hold_is_confirmed_while_still_held() -> None:
    c = PressClassifier(debounce_s=0.05, hold_s=1.5, now=0)
    assert c.edge(10.0, True) == []
    assert c.next_deadline() == pytest.approx(10.05)
    assert [x.change for x in c.advance(10.05)] == ["pressed"]
    assert c.next_deadline() == pytest.approx(11.5)
    assert c.advance(11.49) == []
    (held,) = c.advance(11.5)
    assert held.change == "held"
    assert held.at == pytest.approx(11.5)
    assert c.edge(13.0, False) == []
    (released,) = c.advance(13.05)
    assert released.was_held
    assert released.duration == pytest.approx(3.0)


def test_short_press_is_reported_as_such() -> None:
    c = PressClassifier(debounce_s=0.05, hold_s=1.5, now=0)
    out = c.edge(1.0, True) + c.edge(1.4, False) + c.advance(2.0)
    assert [x.change for x in out] == ["pressed", "released"]
    assert not out[-1].was_held
    assert c.bounces == 0


def test_glitch_inside_a_hold_does_not_restart_it() -> None:
    c = PressClassifier(debounce_s=0.05, hold_s=1.0, now=0)
    # 20 ms of open contact half-way: a bounce.
    out = c.edge(0.0, True) + c.edge(0.5, False) + c.edge(0.52, True) + c.advance(1.0)
    assert [x.change for x in out] == ["pressed", "held"]
    assert out[-1].at == pytest.approx(1.0)
    assert c.bounces == 1


def test_button_pressed_at_start_is_not_a_panic() -> None:
    c = PressClassifier(debounce_s=0.05, hold_s=1.0, active=True, now=0)
    assert c.advance(5.0) == []
    c.edge(5.0, False)
    assert [x.change for x in c.advance(6.0)] == ["released"]
    c.edge(7.0, True)
    assert [x.change for x in c.advance(8.5)] == ["pressed", "held"]


def test_late_edges_count_as_now() -> None:
    c = PressClassifier(debounce_s=0.05, hold_s=1.0, now=0)
    c.edge(1.0, True)
    c.advance(3.0)
    c.edge(2.0, False)  # delivered after time 3.0 was processed
    (released,) = c.advance(3.05)
    assert released.at == pytest.approx(3.05)


def test_hold_must_exceed_debounce() -> None:
    with pytest.raises(ValueError, match="hold_s"):
        PressClassifier(debounce_s=0.5, hold_s=0.2)


def test_cancel_window_withdraws_recent_panics_once() -> None:
    w = CancelWindow(30)
    old, a, b = uuid4(), uuid4(), uuid4()
    w.raised(old, 0.0)
    w.raised(a, 50.0)
    w.raised(b, 60.0)
    assert w.open_for(70.0)
    assert w.cancel(70.0) == [a, b]
    assert w.cancel(71.0) == []
    assert not w.open_for(71.0)


def test_cancel_after_the_window_withdraws_nothing() -> None:
    w = CancelWindow(30)
    w.raised(uuid4(), 0.0)
    assert w.cancel(30.5) == []
