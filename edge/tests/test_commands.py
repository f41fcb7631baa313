"""Commands and broadcasts: applied once, superseded by revision, refused without expiry,
malformed ones logged and dropped without changing anything."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from kentongan_edge.commands import CommandHandler, Result, inside_area
from kentongan_edge.ledger import CommandLedger
from kentongan_edge.storage import open_database
from kentongan_protocol.payloads import (
    AreaFilter,
    Broadcast,
    Circle,
    Command,
    CommandAck,
    Ping,
    SirenOff,
    SirenOn,
)
from kentongan_protocol.provisioning.district import SirenPattern
from kentongan_protocol.provisioning.profile import EdgeProfile


class FakePost:
    def __init__(self, profile: EdgeProfile, *, inside: bool = True) -> None:
        self.profile = profile
        self.sounding: dict[str, str] = {}
        self.area_ok = inside

    def pattern(self, name: str) -> SirenPattern | None:
        return self.profile.siren_patterns.get(name)

    def sound(self, key: str, pattern: SirenPattern, duration_s: float) -> None:
        self.sounding[key] = pattern.description

    def silence(self, key: str) -> bool:
        return self.sounding.pop(key, None) is not None

    def self_test(self, duration_s: int) -> str:
        return "chirp"

    def ping(self) -> str:
        return "pong"

    def maintenance(self, minutes: int) -> str:
        return f"maintenance {minutes} min"

    def reload(self) -> tuple[Result, str]:
        return "done", "reloaded"

    def inside(self, area: AreaFilter) -> bool:
        return self.area_ok


class Rig:
    def __init__(self, profile: EdgeProfile, db: Path, *, inside: bool = True) -> None:
        self.post = FakePost(profile, inside=inside)
        self.acks: list[CommandAck] = []
        self.ledger = CommandLedger(open_database(db))
        self.handler = CommandHandler(self.ledger, self.post, self.acks.append)

    def last(self) -> str:
        return self.acks[-1].result


def on(alarm: uuid.UUID, rev: int, pattern: str = "titir") -> Command:
    body = SirenOn(action="siren_on", alarm_id=alarm, revision=rev, pattern=pattern, duration_s=60)
    return Command(command_id=uuid.uuid4(), body=body)


def off(alarm: uuid.UUID, rev: int) -> Command:
    return Command(
        command_id=uuid.uuid4(), body=SirenOff(action="siren_off", alarm_id=alarm, revision=rev)
    )


def test_siren_on_applied_once(profile: EdgeProfile, tmp_path: Path) -> None:
    r = Rig(profile, tmp_path / "s.db")
    cmd = on(uuid.uuid4(), 1)
    assert r.handler.on_command(cmd.encode(), 60) is not None
    assert r.last() == "done"
    assert len(r.post.sounding) == 1
    r.post.sounding.clear()
    r.handler.on_command(cmd.encode(), 55)  # the broker redelivers it
    assert r.last() == "duplicate"
    assert r.post.sounding == {}
    # Also after a restart: the ledger is on disk.
    again = Rig(profile, tmp_path / "s.db")
    again.handler.on_command(cmd.encode(), 50)
    assert again.last() == "duplicate"
    assert again.post.sounding == {}


def test_late_on_never_follows_off(profile: EdgeProfile, tmp_path: Path) -> None:
    r = Rig(profile, tmp_path / "s.db")
    alarm = uuid.uuid4()
    r.handler.on_command(off(alarm, 2).encode(), 60)
    r.handler.on_command(on(alarm, 1).encode(), 60)
    assert r.last() == "superseded"
    r.handler.on_command(on(alarm, 2).encode(), 60)  # same revision: off wins
    assert r.last() == "superseded"
    assert r.post.sounding == {}
    r.handler.on_command(on(alarm, 3).encode(), 60)
    assert r.last() == "done"
    assert r.post.sounding


@pytest.mark.parametrize(
    ("expiry", "result"), [(None, "rejected"), (0, "expired"), (3600, "rejected")]
)
def test_commands_without_a_short_expiry_never_sound(
    profile: EdgeProfile, tmp_path: Path, expiry: int | None, result: str
) -> None:
    r = Rig(profile, tmp_path / "s.db")
    r.handler.on_command(on(uuid.uuid4(), 1).encode(), expiry)
    assert r.last() == result
    assert r.post.sounding == {}


def test_unknown_pattern_is_rejected(profile: EdgeProfile, tmp_path: Path) -> None:
    r = Rig(profile, tmp_path / "s.db")
    r.handler.on_command(on(uuid.uuid4(), 1, pattern="disko").encode(), 30)
    assert r.last() == "rejected"
    assert "disko" in (r.acks[-1].detail or "")


def test_malformed_commands_are_logged_and_change_nothing(
    profile: EdgeProfile, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r = Rig(profile, tmp_path / "s.db")
    cid = uuid.uuid4()
    with caplog.at_level(logging.WARNING):
        assert r.handler.on_command(b"{not json", 30) is None
        bad = f'{{"command_id":"{cid}","body":{{"action":"siren_on","alarm_id":"x"}}}}'
        ack = r.handler.on_command(bad.encode(), 30)
        r.handler.on_command(b"x" * 10_000, 30)
    assert ack is not None
    assert ack.command_id == cid
    assert ack.result == "rejected"
    assert r.handler.malformed == 3
    assert caplog.text.count("malformed command ignored") == 3
    assert r.post.sounding == {}
    assert r.acks == [ack]


def test_ping(profile: EdgeProfile, tmp_path: Path) -> None:
    r = Rig(profile, tmp_path / "s.db")
    r.handler.on_command(Command(command_id=uuid.uuid4(), body=Ping(action="ping")).encode(), 10)
    assert (r.acks[-1].result, r.acks[-1].detail) == ("done", "pong")


def broadcast(action: str, alarm: uuid.UUID, rev: int, area: AreaFilter) -> bytes:
    return Broadcast(
        broadcast_id=uuid.uuid4(),
        action="area_alarm" if action == "area_alarm" else "all_clear",
        alarm_id=alarm,
        revision=rev,
        pattern="titir" if action == "area_alarm" else "aman",
        duration_s=120,
        area=area,
    ).encode()


def test_area_alarm_then_all_clear(profile: EdgeProfile, tmp_path: Path) -> None:
    r = Rig(profile, tmp_path / "s.db")
    alarm = uuid.uuid4()
    r.handler.on_broadcast(broadcast("area_alarm", alarm, 1, AreaFilter()), 60)
    assert list(r.post.sounding) == [f"alarm:{alarm}"]
    r.handler.on_broadcast(broadcast("all_clear", alarm, 2, AreaFilter()), 60)
    assert list(r.post.sounding) == [f"aman:{alarm}"]
    r.handler.on_broadcast(broadcast("area_alarm", alarm, 1, AreaFilter()), 60)
    assert r.last() == "superseded"
    assert list(r.post.sounding) == [f"aman:{alarm}"]


def test_broadcast_outside_the_area_stays_silent(profile: EdgeProfile, tmp_path: Path) -> None:
    r = Rig(profile, tmp_path / "s.db", inside=False)
    r.handler.on_broadcast(broadcast("area_alarm", uuid.uuid4(), 1, AreaFilter()), 60)
    assert r.post.sounding == {}
    assert r.acks == []


def test_inside_area_rules() -> None:
    def at_post(area: AreaFilter) -> bool | None:
        return inside_area(
            area, gateway_id="gs-buyut-udik-01", kampung="buyut-udik", lat=-4.955, lon=105.175
        )

    assert at_post(AreaFilter()) is True
    assert at_post(AreaFilter(kampung=["buyut-udik"])) is True
    assert at_post(AreaFilter(gateways=["tb-poncowati-01"])) is False
    near = Circle(lat=-4.9600, lon=105.175, radius_m=1000)  # ~556 m away
    far = Circle(lat=-4.9800, lon=105.175, radius_m=1000)  # ~2.8 km away
    assert at_post(AreaFilter(circle=near)) is True
    assert at_post(AreaFilter(circle=far)) is False
    # Kecamatan alone needs the profile's kampung -> kecamatan map; without it, undecided.
    assert at_post(AreaFilter(kecamatan=["gunung-sugih"])) is None

    def known(area: AreaFilter) -> bool | None:
        return inside_area(
            area,
            gateway_id="gs-buyut-udik-01",
            kampung="buyut-udik",
            lat=-4.955,
            lon=105.175,
            kecamatan="gunung-sugih",
        )

    assert known(AreaFilter(kecamatan=["gunung-sugih"])) is True
    assert known(AreaFilter(kecamatan=["punggur"])) is False
