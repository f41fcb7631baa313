"""Routing on the sample district: incident type and area → agencies → on-call people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kentongan_cloud.responders.models import Drill
from kentongan_cloud.responders.roster import local_time, on_call
from kentongan_cloud.responders.routing import plan
from kentongan_protocol.provisioning.tree import Provisioning

from .support import MONDAY_NIGHT, TUESDAY_MORNING, notice


def first_paged(prov: Provisioning, when: datetime, **kw: object) -> dict[str, tuple[str, ...]]:
    p = plan(prov.district, notice(prov, **kw), when)  # type: ignore[arg-type]
    return {t.agency_id: t.first for t in p.tracks}


def test_theft_at_night_pages_police_rt_and_satpol_pp_on_call(provisioning: Provisioning) -> None:
    assert first_paged(provisioning, MONDAY_NIGHT) == {
        "polsek-gunung-sugih": ("gs-bhabin-terbanggi",),  # night shift 19:00-07:00
        "rt-buyut": ("rt-buyut-udik-03",),  # nobody has shifts: the fallback
        "satpol-pp-lamteng": ("pp-danru-malam",),  # 16:00-07:30 on weekdays
    }


def test_theft_in_the_morning_pages_the_day_shift(provisioning: Provisioning) -> None:
    assert first_paged(provisioning, TUESDAY_MORNING) == {
        "polsek-gunung-sugih": ("gs-bhabin-buyut",),
        "rt-buyut": ("rt-buyut-udik-03",),
        "satpol-pp-lamteng": ("pp-danru-pagi",),
    }


def test_fire_goes_to_damkar_and_the_local_polsek_only(provisioning: Provisioning) -> None:
    paged = first_paged(
        provisioning, MONDAY_NIGHT, gateway="tb-poncowati-01", incident_type="kebakaran"
    )
    assert paged == {
        "damkar-lamteng": ("damkar-regu-jaga",),
        "polsek-terbanggi-besar": ("tb-bhabin-adijaya",),
        "rt-poncowati": ("rt-poncowati-05",),
    }


def test_escalation_ladder_is_on_call_then_fallback_then_the_rest(
    provisioning: Provisioning,
) -> None:
    p = plan(provisioning.district, notice(provisioning), MONDAY_NIGHT)
    police = next(t for t in p.tracks if t.agency_id == "polsek-gunung-sugih")
    assert police.ladder == ("gs-bhabin-terbanggi", "gs-piket-spkt", "gs-bhabin-buyut")
    assert p.command_centre is not None
    assert p.command_centre.first == ("cc-operator-malam",)
    assert p.command_centre.ladder == ("cc-operator-malam", "cc-supervisor", "cc-operator-pagi")
    assert p.feeds == ("cc-dashboard",)


@pytest.mark.parametrize(
    ("wib", "expected"),
    [
        ("2024-05-10 16:00", ["pp-danru-malam"]),  # Friday evening shift starts
        ("2024-05-11 06:00", ["pp-danru-malam"]),  # Friday's night shift runs into Saturday
        ("2024-05-11 12:00", ["pp-danru-malam"]),  # weekend: 00:00-23:59
        ("2024-05-11 23:59", ["pp-danru-malam"]),  # 23:59 means to midnight
        # The sample roster has a gap: Sunday's 00:00-23:59 ends at midnight and Monday's
        # evening shift starts at 16:00, so Monday 00:00-07:30 falls to the fallback.
        ("2024-05-13 07:29", ["pp-posko"]),
        ("2024-05-13 07:30", ["pp-danru-pagi"]),
        ("2024-05-13 15:59", ["pp-danru-pagi"]),
    ],
)
def test_shifts_in_wib(provisioning: Provisioning, wib: str, expected: list[str]) -> None:
    when = datetime.strptime(wib, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) - timedelta(hours=7)
    agency = next(a for a in provisioning.district.agencies if a.id == "satpol-pp-lamteng")
    assert [p.id for p in on_call(agency, local_time(when, "Asia/Jakarta"))] == expected


def test_test_status_pages_nobody(provisioning: Provisioning) -> None:
    assert plan(provisioning.district, notice(provisioning, status="test"), MONDAY_NIGHT).empty


def test_exercise_without_a_drill_pages_nobody(provisioning: Provisioning) -> None:
    assert plan(provisioning.district, notice(provisioning, status="exercise"), MONDAY_NIGHT).empty


def test_exercise_pages_only_the_drill_participants(provisioning: Provisioning) -> None:
    drill = Drill(
        id="latihan-mei",
        name="Latihan ronda Mei",
        district="lamteng",
        starts_at=MONDAY_NIGHT - timedelta(hours=1),
        ends_at=MONDAY_NIGHT + timedelta(hours=2),
        kecamatan="gunung-sugih",
        participants=["polsek-gunung-sugih", "rt-putra-buyut-02"],
    )
    p = plan(provisioning.district, notice(provisioning, status="exercise"), MONDAY_NIGHT, drill)
    assert {t.agency_id: t.ladder for t in p.tracks} == {
        "polsek-gunung-sugih": ("gs-bhabin-terbanggi", "gs-piket-spkt", "gs-bhabin-buyut"),
        "rt-buyut": ("rt-putra-buyut-02",),
    }
    assert p.command_centre is None
    assert p.feeds == ()
