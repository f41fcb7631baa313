"""Siren rhythms and the alarm board, on a hand-moved clock."""

from __future__ import annotations

import pytest
from kentongan_edge.patterns import CHIRP, AlarmBoard, cycle, strikes_within
from kentongan_edge.timers import ManualTimers
from kentongan_protocol.provisioning.district import SirenPattern
from kentongan_protocol.provisioning.profile import EdgeProfile


def test_ketuk_groups_and_titir(profile: EdgeProfile) -> None:
    ketuk3 = profile.siren_patterns["ketuk-3"]
    steps = cycle(ketuk3)
    assert [on for on, _ in steps] == [True, False] * 3
    assert steps[-1][1] == pytest.approx(ketuk3.group_pause_ms / 1000)
    titir = profile.siren_patterns["titir"]
    assert titir.strikes == 0
    assert cycle(titir) == [(True, 0.12), (False, 0.08)]
    # Titir beats five times a second; the slow all-clear once every 3.4 s.
    assert strikes_within(titir, 2.0) == 10
    assert strikes_within(profile.siren_patterns["aman"], 3.3) == 1
    assert strikes_within(profile.siren_patterns["aman"], 3.5) == 2


class Board:
    def __init__(self) -> None:
        self.timers = ManualTimers()
        self.log: list[tuple[float, bool]] = []
        self.strobe: list[bool] = []
        self.strikes = 0
        self.board = AlarmBoard(
            self.timers,
            sirens=lambda on: self.log.append((self.timers.now, on)),
            strobe=self.strobe.append,
            strike_done=self._strike,
        )

    def _strike(self) -> None:
        self.strikes += 1

    def ons(self) -> int:
        return sum(1 for _, on in self.log if on)


def test_alarm_sounds_at_once_and_stops_by_itself(profile: EdgeProfile) -> None:
    b = Board()
    b.board.start("local:x", profile.siren_patterns["ketuk-2"], 10)
    assert b.log == [(b.timers.now, True)]
    assert b.strobe == [True]
    b.timers.advance(9.9)
    assert b.board.is_active("local:x")
    b.timers.advance(0.2)
    assert not b.board.is_active("local:x")
    assert b.log[-1][1] is False
    assert b.strobe == [True, False]
    assert b.timers.pending() == 0
    # ketuk-2: 2 strikes per 0.25+0.25+0.25+1.5 s group: 5 groups in 10 s.
    assert b.ons() == strikes_within(profile.siren_patterns["ketuk-2"], 10.0)
    assert b.strikes == b.ons()


def test_newest_alarm_plays_and_the_older_resumes(profile: EdgeProfile) -> None:
    b = Board()
    b.board.start("local:a", profile.siren_patterns["ketuk-3"], 60)
    b.timers.advance(1)
    b.board.start("alarm:z", profile.siren_patterns["titir"], 5)
    assert b.board.playing == "alarm:z"
    b.timers.advance(6)
    assert b.board.playing == "local:a"
    assert b.board.stop("local:a")
    assert b.board.playing is None
    assert not b.board.siren_on
    assert not b.board.stop("local:a")


def test_rhythm_does_not_drift_when_callbacks_run_late() -> None:
    timers = ManualTimers()
    ons: list[float] = []
    pattern = SirenPattern(description="t", strikes=0, strike_ms=100, gap_ms=100)
    board = AlarmBoard(timers, sirens=lambda on: ons.append(timers.now) if on else None)
    board.start("k", pattern, 100)
    for _ in range(50):
        timers.advance(0.137)  # coarse ticks: callbacks run late
    assert len(ons) >= 34
    # Strike n starts at n * 0.2 s (planned), never later than one tick after it.
    assert all(t - ons[0] - i * 0.2 < 0.138 for i, t in enumerate(ons))


def test_chirp_is_not_a_kentongan_rhythm(profile: EdgeProfile) -> None:
    assert all(p != CHIRP for p in profile.siren_patterns.values())
    assert cycle(CHIRP)[0] == (True, 0.15)
