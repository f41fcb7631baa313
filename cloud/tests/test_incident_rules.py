"""The incident rules on their own: opening, joining, confirmation, cancel, lifecycle; and
the confirmation peers the store hands them: only the open incidents that could confirm a
press, in its kampung or inside the box around its radius (a burst in one kecamatan no
longer loads every incident of the burst into every batch); and the fan-out of a
confirmation, each post's command exactly as the protocol model encodes it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from kentongan_cloud.domain.geo import BoundingBox
from kentongan_cloud.domain.incident import (
    ActivationIn,
    CancelledPress,
    Incident,
    activate,
    cancel_from_edge,
    transition,
)
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.errors import ConflictError
from kentongan_cloud.fanout import CommandEnvelope, Fanout
from kentongan_cloud.store.db import Database
from kentongan_protocol.payloads import Command

T0 = datetime(2024, 8, 17, 21, 0, tzinfo=UTC)


def act(
    at_s: float,
    *,
    post: str = "tb-poncowati-01",
    input_: str = "tombol_pencurian",
    historical: bool = False,
    source: str = "button",
    status: str = "actual",
    kampung: str = "poncowati",
    lat: float = -4.9013,
    lon: float = 105.2338,
) -> ActivationIn:
    at = T0 + timedelta(seconds=at_s)
    return ActivationIn(
        event_id=str(uuid.uuid4()),
        post=post,
        gateway_id=post,
        post_name=f"Pos {post}",
        district="lamteng",
        kecamatan="terbanggi-besar",
        kampung=kampung,
        lat=lat,
        lon=lon,
        incident_type="pencurian",
        status=status,  # type: ignore[arg-type]
        source=source,  # type: ignore[arg-type]
        input=input_,
        historical=historical,
        occurred_at=at - timedelta(hours=3) if historical else at,
        received_at=at,
    )


def run(*acts: ActivationIn) -> tuple[Incident, list[str]]:
    inc: Incident | None = None
    kinds: list[str] = []
    for a in acts:
        changes = activate(inc, [], a, radius_m=1000, actor="gateway:x")
        inc = changes[0].incident
        kinds += [c.kind for c in changes]
    assert inc is not None
    return inc, kinds


def test_first_press_opens_unconfirmed() -> None:
    inc, kinds = run(act(0))
    assert kinds == ["opened"]
    assert inc.state == "new"
    assert inc.count == 1
    assert not inc.confirmed


def test_same_input_within_30_s_joins_without_confirming() -> None:
    inc, kinds = run(act(0), act(10), act(29))
    assert kinds == ["opened", "joined", "joined"]
    assert inc.count == 3
    assert not inc.confirmed


def test_same_input_again_after_30_s_confirms() -> None:
    inc, kinds = run(act(0), act(30))
    assert kinds == ["opened", "joined", "confirmed"]
    assert inc.confirmed
    assert inc.confirmed_at == T0 + timedelta(seconds=30)


def test_different_input_within_2_min_confirms_at_once() -> None:
    _, kinds = run(act(0), act(5, input_="tombol_kebakaran"))
    assert kinds[-1] == "confirmed"


def test_second_activation_after_2_min_does_not_confirm() -> None:
    inc, kinds = run(act(0), act(121))
    assert kinds == ["opened", "joined"]
    assert not inc.confirmed


def test_historical_press_never_confirms_and_carries_its_age() -> None:
    inc, kinds = run(act(0, historical=True), act(40, historical=True))
    assert kinds == ["opened", "joined"]
    assert inc.historical
    assert inc.age_s == pytest.approx(3 * 3600)
    assert not inc.confirmed


def test_live_press_after_backlog_does_not_count_the_backlog() -> None:
    inc, kinds = run(act(0, historical=True), act(40))
    assert kinds == ["opened", "joined", "went_live"]
    assert not inc.confirmed


def test_resident_reports_never_confirm() -> None:
    inc, kinds = run(act(0, source="web", input_="web_form"), act(40, source="web"))
    assert not inc.confirmed
    assert "confirmed" not in kinds


def test_press_at_a_neighbouring_post_confirms_both() -> None:
    first = activate(None, [], act(0), radius_m=1000, actor="a")[0].incident
    changes = activate(
        None,
        [first],
        act(20, post="tb-poncowati-02", lat=-4.9040, lon=105.2365),
        radius_m=1000,
        actor="b",
    )
    confirmed = {c.incident.post: c.sound for c in changes if c.kind == "confirmed"}
    # Both are confirmed; only the new one starts the fan-out (it covers the same area).
    assert confirmed == {"tb-poncowati-02": True, "tb-poncowati-01": False}


def test_press_at_a_far_post_does_not_confirm() -> None:
    first = activate(None, [], act(0), radius_m=1000, actor="a")[0].incident
    changes = activate(
        None,
        [first],
        act(20, post="sb-setia-bumi-01", kampung="setia-bumi", lat=-4.805, lon=105.53),
        radius_m=1000,
        actor="b",
    )
    assert [c.kind for c in changes] == ["opened"]
    assert not first.confirmed


def _press_of(inc: Incident, mono: int, gateway: str = "tb-poncowati-01") -> CancelledPress:
    return CancelledPress(inc.opening_event_id, gateway, "boot-1", mono, inc.id)


def test_cancel_within_window_cancels() -> None:
    inc, _ = run(act(0))
    _, change, why = cancel_from_edge(
        inc,
        _press_of(inc, 1000),
        gateway_id="tb-poncowati-01",
        boot_id="boot-1",
        monotonic_ms=21_000,
        window_s=30,
        now=T0,
    )
    assert change is not None
    assert change.kind == "cancelled"
    assert why == ""
    assert inc.state == "cancelled"
    assert inc.open_key is None


@pytest.mark.parametrize(
    ("gateway", "boot", "mono", "reason"),
    [
        ("tb-poncowati-01", "boot-1", 32_000, "outside the cancel window of 30 s"),
        ("tb-poncowati-01", "boot-2", 2_000, "outside the cancel window of 30 s"),
        ("tb-poncowati-02", "boot-1", 2_000, "the cancel comes from another post"),
    ],
)
def test_cancel_refused(gateway: str, boot: str, mono: int, reason: str) -> None:
    inc, _ = run(act(0))
    _, change, why = cancel_from_edge(
        inc,
        _press_of(inc, 1000),
        gateway_id=gateway,
        boot_id=boot,
        monotonic_ms=mono,
        window_s=30,
        now=T0,
    )
    assert change is not None
    assert change.kind == "cancel_refused"
    assert why == reason
    assert inc.state == "new"


def test_confirmed_incident_is_not_cancelled_from_the_post() -> None:
    inc, _ = run(act(0), act(31))
    _, _, why = cancel_from_edge(
        inc,
        _press_of(inc, 1000),
        gateway_id="tb-poncowati-01",
        boot_id="boot-1",
        monotonic_ms=5000,
        window_s=30,
        now=T0,
    )
    assert why == "a confirmed incident is closed by an operator"


def test_lifecycle_records_who_and_when() -> None:
    inc, _ = run(act(0))
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    transition(inc, "acknowledge", "operator:sari", t1, "")
    transition(inc, "dispatch", "operator:sari", t2, "Bhabinkamtibmas on the way")
    transition(inc, "resolve", "supervisor:budi", t3, "")
    assert (inc.acknowledged_at, inc.acknowledged_by) == (t1, "operator:sari")
    assert (inc.dispatched_at, inc.dispatched_by) == (t2, "operator:sari")
    assert (inc.closed_at, inc.closed_by, inc.state) == (t3, "supervisor:budi", "resolved")
    assert inc.open_key is None


def test_a_closed_incident_refuses_further_steps() -> None:
    inc, _ = run(act(0))
    transition(inc, "false_alarm", "operator:sari", T0, "")
    with pytest.raises(ConflictError, match="incident is false_alarm; cannot acknowledge"):
        transition(inc, "acknowledge", "operator:sari", T0, "")


PRESS = (-4.9013, 105.2368)  # a press in kampung "yukum-jaya", about 330 m east of NEAR


def opened(
    post: str, kampung: str, lat: float, lon: float, at_s: float = 0, status: str = "actual"
) -> Incident:
    a = act(at_s, post=post, kampung=kampung, lat=lat, lon=lon, status=status)
    return activate(None, [], a, radius_m=1000, actor="t")[0].incident


NEAR = opened("tb-poncowati-01", "poncowati", -4.9013, 105.2338)  # other kampung, in radius
SAME_KAMPUNG = opened("yj-yukum-jaya-09", "yukum-jaya", -4.70, 105.00)  # far, same kampung
FAR = opened("sb-setia-bumi-01", "setia-bumi", -4.805, 105.53)
OLD = opened("tb-poncowati-02", "poncowati", -4.9014, 105.2339, at_s=-600)  # long quiet
DRILL_NEAR = opened("tb-poncowati-03", "poncowati", -4.9012, 105.2337, status="exercise")


Query = tuple[set[str], list[BoundingBox], Sequence[str], Sequence[str]]


def found(db_url: str, *queries: Query) -> list[list[str]]:
    """For each (kampungs, boxes, keys, statuses), the posts of what `for_batch` finds among
    NEAR, SAME_KAMPUNG, FAR, OLD and an exercise beside NEAR, sorted, one per incident."""

    async def go() -> list[list[str]]:
        db = Database(db_url)
        try:
            await db.create_schema()
            async with db.transaction() as tx:
                await tx.incidents.add([NEAR, SAME_KAMPUNG, FAR, OLD, DRILL_NEAR])
            out = []
            for kampungs, boxes, keys, statuses in queries:
                async with db.transaction() as tx:
                    got = await tx.incidents.for_batch(
                        keys, ["pencurian"], statuses, T0 - timedelta(minutes=2), kampungs, boxes
                    )
                out.append(sorted(i.post for i in got))
            return out
        finally:
            await db.close()

    return asyncio.run(go())


def peers(db_url: str, kampungs: set[str], boxes: list[BoundingBox]) -> list[str]:
    return found(db_url, (kampungs, boxes, (), ("actual",)))[0]


def test_peers_are_the_recent_incidents_in_the_kampung_or_the_radius(db_url: str) -> None:
    box = BoundingBox.around(*PRESS, 1000)
    assert peers(db_url, {"yukum-jaya"}, [box]) == ["tb-poncowati-01", "yj-yukum-jaya-09"]


def test_many_places_in_one_batch_share_one_covering_box(db_url: str) -> None:
    # 25 presses spread along a line: more than the statement takes boxes of, so one box
    # around them all; it still holds NEAR and still leaves out FAR.
    boxes = [BoundingBox.around(PRESS[0] + i * 0.001, PRESS[1], 500) for i in range(25)]
    assert peers(db_url, set(), boxes) == ["tb-poncowati-01"]


def test_a_batch_finds_its_open_incidents_and_its_peers_in_one_read(db_url: str) -> None:
    box = BoundingBox.around(*PRESS, 1000)
    # FAR and OLD by their keys (OLD is no peer: quiet too long), NEAR as a peer and by its
    # key: each once.
    keys = [k for k in (FAR.open_key, OLD.open_key, NEAR.open_key) if k is not None]
    both = ["sb-setia-bumi-01", "tb-poncowati-01", "tb-poncowati-02"]
    assert found(db_url, (set(), [box], keys, ["actual"]), (set(), [], keys, ["actual"])) == [
        both,
        both,
    ]


def test_an_exercise_is_a_peer_of_exercises_only(db_url: str) -> None:
    box = BoundingBox.around(*PRESS, 1000)
    assert found(
        db_url, (set(), [box], (), ["exercise"]), (set(), [box], (), ["actual", "exercise"])
    ) == [["tb-poncowati-03"], ["tb-poncowati-01", "tb-poncowati-03"]]


def test_covering_box_holds_every_box() -> None:
    a = BoundingBox.around(-4.9, 105.2, 1000)
    b = BoundingBox.around(-4.8, 105.5, 200)
    c = BoundingBox.covering([a, b])
    assert (c.south, c.north, c.west, c.east) == (a.south, b.north, a.west, b.east)


def test_a_fan_out_sends_each_post_the_command_the_protocol_model_encodes(
    generated_district: Directory,
) -> None:
    post = sorted(generated_district.sites.values(), key=lambda s: s.gateway_id)[17]
    press = act(0, post=post.gateway_id, kampung=post.place.kampung, lat=post.lat, lon=post.lon)
    inc = activate(None, [], press, radius_m=1000, actor="t")[0].incident
    now = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    items, recs = Fanout(generated_district, 60).sirens_on(inc, now, exclude={post.gateway_id})
    assert len(items) == len(recs) > 1
    for item, rec in zip(items, recs, strict=True):
        env = CommandEnvelope.model_validate_json(item.payload)
        cmd = Command.model_validate_json(env.body)
        assert (env.target, env.command_id, str(cmd.command_id)) == (rec.target,) + (
            rec.command_id,
        ) * 2
        # Byte for byte what the model encodes for this command on its own.
        assert (
            env.body
            == Command(command_id=cmd.command_id, issued_at=now, body=cmd.body).encode().decode()
        )
        assert cmd.body.action == "siren_on"
    assert len({r.command_id for r in recs}) == len(recs)
