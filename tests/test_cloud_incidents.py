"""Incidents end to end (real Mosquitto, both databases, a manual clock): confirmation sounds
the neighbours' sirens with expiring commands, backlog panics never do, exercises page
nobody, a cancel within the window withdraws the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kentongan_cloud.api.auth import hash_password
from kentongan_cloud.clock import ManualClock
from kentongan_cloud.ports import TimePoint
from kentongan_cloud.records import UserRecord
from kentongan_cloud.store.db import Tx
from kentongan_protocol.payloads import Command, CommandAck, SirenOff, SirenOn
from kentongan_protocol.topics import Suffix
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, Recorders, VirtualPost
from kentongan_testkit.mqtt import Received
from kentongan_testkit.plugin import ClientFactory

from tests.test_cloud_intake import acked_ids, incidents

DISTRICT = "lamteng"
ORIGIN = "tb-poncowati-01"
FAR = "sb-setia-bumi-01"


def post_of(mqtt_client: ClientFactory, gid: str) -> VirtualPost:
    p = VirtualPost(mqtt_client(gid), DISTRICT, gid)
    p.listen()
    return p


def operator_token(h: CloudHarness, role: str = "operator") -> str:
    async def add(tx: Tx) -> None:
        await tx.users.upsert(
            UserRecord("sari", hash_password("kentongan-rahasia"), role, None, True),
            datetime.now(UTC),
        )

    h.db(add)
    r = h.api(
        "POST", "/api/v1/auth/login", json={"username": "sari", "password": "kentongan-rahasia"}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def commands_of(post: VirtualPost, n: int) -> list[tuple[Command, Received]]:
    out: list[tuple[Command, Received]] = []
    while len(out) < n:
        msg = post.client.get(timeout=15)
        if msg.topic.endswith("/cmd"):
            out.append((Command.model_validate_json(msg.payload), msg))
    return out


def neighbours(h: CloudHarness) -> set[str]:
    d = h.runtime.directory
    o = d.sites[ORIGIN]
    return {
        s.gateway_id for s in d.sites_near(o.lat, o.lon, o.place.kampung, 1000, exclude={ORIGIN})
    }


def test_confirmation_sounds_the_neighbours_and_resolve_silences_them(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    clock = ManualClock()
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec)
    near = neighbours(h)
    assert near  # the sample district has posts close to Poncowati
    origin = post_of(mqtt_client, ORIGIN)
    posts = {gid: post_of(mqtt_client, gid) for gid in near}
    far = post_of(mqtt_client, FAR)

    origin.press()
    acked_ids(origin, 1)
    clock.advance(10)
    origin.press()  # same button again within 30 s: a jittery hand, not a confirmation
    acked_ids(origin, 1)
    [inc] = incidents(h)
    assert (inc.count, inc.confirmed, inc.sirens_on) == (2, False, False)
    clock.advance(25)
    origin.press()  # 35 s after the first: confirmed
    acked_ids(origin, 1)
    [inc] = incidents(h)
    assert inc.confirmed
    assert inc.sirens_on

    for p in posts.values():
        [(cmd, msg)] = commands_of(p, 1)
        assert isinstance(cmd.body, SirenOn)
        assert (str(cmd.body.alarm_id), cmd.body.revision) == (inc.alarm_id, 1)
        assert (cmd.body.pattern, cmd.body.duration_s) == ("ketuk-2", 120)
        assert msg.properties is not None
        assert 0 < getattr(msg.properties, "MessageExpiryInterval", 0) <= 60
        p.client.publish(
            p.topic(Suffix.CMD_ACK), CommandAck(command_id=cmd.command_id, result="done").encode()
        )
    assert not [m for m in far.client.drain(0.3) if m.topic.endswith("/cmd")]

    token = operator_token(h)

    def all_acked() -> dict[str, Any] | None:
        d = h.api("GET", f"/api/v1/incidents/{inc.id}", token=token).json()
        acks = {a["gateway_id"] for c in d["commands"] for a in c["acks"]}
        return d if acks == near else None

    detail = h.wait_for(all_acked, what="command acks")
    assert {c["target"] for c in detail["commands"]} == near
    assert key_delivered(h, rec, f"notice:{inc.id}:confirmed")

    # Each acknowledged siren is a `siren` point; each press that changed the incident an
    # `intake` point with the cloud's share of its latency.
    def siren_points() -> list[TimePoint] | None:
        got = [p for p in rec.points.points if p.measurement == "siren"]
        return got if len(got) >= len(near) else None

    sirens = h.wait_for(siren_points, what="siren points")
    assert sorted(str(p.tags["gateway"]) for p in sirens) == sorted(near)
    assert {(p.tags["action"], p.tags["trigger"], p.fields["duration_s"]) for p in sirens} == {
        ("on", "confirmed", 120)
    }
    intake = [p for p in rec.points.points if p.measurement == "intake"]
    assert [(p.tags["source"], p.tags["gateway"]) for p in intake] == [("button", ORIGIN)] * 3
    assert all(0 <= float(p.fields["commit_s"]) < 5 for p in intake)

    r = h.api("POST", f"/api/v1/incidents/{inc.id}/resolve", token=token, json={"note": "aman"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "resolved"
    for p in posts.values():
        [(cmd, _)] = commands_of(p, 1)
        assert isinstance(cmd.body, SirenOff)
        assert (str(cmd.body.alarm_id), cmd.body.revision) == (inc.alarm_id, 2)


def key_delivered(h: CloudHarness, rec: Recorders, key: str) -> bool:
    return bool(h.wait_for(lambda: key in rec.notifier.notices, what=key))


def test_backlog_panics_never_confirm_nor_sound_and_page_with_their_age(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    clock = ManualClock()
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec)
    origin = post_of(mqtt_client, ORIGIN)
    posts = [post_of(mqtt_client, gid) for gid in neighbours(h)]
    three_hours_ago = clock.now() - timedelta(hours=3)
    origin.press(historical=True, occurred_at=three_hours_ago)
    acked_ids(origin, 1)
    clock.advance(40)
    origin.press(historical=True, occurred_at=three_hours_ago + timedelta(seconds=40))
    acked_ids(origin, 1)
    [inc] = incidents(h)
    assert inc.historical
    assert not inc.confirmed
    assert inc.age_s is not None
    assert inc.age_s >= 3 * 3600
    key_delivered(h, rec, f"notice:{inc.id}:historical")
    notice = rec.notifier.notices[f"notice:{inc.id}:historical"]
    assert notice.historical
    assert notice.first_occurred_at == three_hours_ago
    for p in posts:
        assert not [m for m in p.client.drain(0.3) if m.topic.endswith("/cmd")]


def test_exercises_are_kept_apart_and_page_nobody(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    clock = ManualClock()
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec)
    origin = post_of(mqtt_client, ORIGIN)
    posts = [post_of(mqtt_client, gid) for gid in neighbours(h)]
    origin.press(status="exercise")
    acked_ids(origin, 1)  # received before the clock moves on
    clock.advance(35)
    origin.press(status="exercise")
    origin.press()  # a real panic during the drill opens its own incident
    acked_ids(origin, 2)
    by_status = {i.status: i for i in incidents(h)}
    assert set(by_status) == {"exercise", "actual"}
    drill = by_status["exercise"]
    assert drill.confirmed
    assert not drill.sirens_on
    clock.advance(120)
    real = by_status["actual"]
    key_delivered(h, rec, f"notice:{real.id}:opened")
    assert [k for k in rec.notifier.notices if drill.id in k] == []
    for p in posts:
        assert not [m for m in p.client.drain(0.3) if m.topic.endswith("/cmd")]
    points = [p for p in rec.points.points if p.measurement == "press"]
    assert {p.tags["status"] for p in points} == {"exercise", "actual"}


def test_a_cancel_within_the_window_withdraws_the_page(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    clock = ManualClock()
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec)
    origin = post_of(mqtt_client, ORIGIN)
    ev = origin.press()
    acked_ids(origin, 1)
    clock.advance(5)
    origin.send(origin.event("cancel", input="tombol_batal", cancels=ev.event_id, after_ms=5000))
    acked_ids(origin, 1)
    [inc] = incidents(h)
    assert (inc.state, inc.closed_by) == ("cancelled", f"gateway:{ORIGIN}")
    clock.advance(60)
    state = h.db(lambda tx: tx.outbox.state_of(f"notice:{inc.id}:opened"))
    assert state == "voided"
    # A later press opens a new incident; it pages once the window has passed.
    origin.press()
    acked_ids(origin, 1)
    clock.advance(31)
    [new] = [i for i in incidents(h) if i.id != inc.id]
    key_delivered(h, rec, f"notice:{new.id}:opened")
    assert rec.notifier.notices.keys() == {f"notice:{new.id}:opened"}
