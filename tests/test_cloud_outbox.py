"""The outbox with a real Mosquitto: a crash between commit and send loses nothing and sends
nothing twice; retries keep the key; operators' area alarms go out as broadcasts."""

from __future__ import annotations

import time

from kentongan_cloud.clock import ManualClock
from kentongan_cloud.store.db import Tx
from kentongan_protocol.payloads import Broadcast, SirenOff, SirenOn
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.topics import broadcast_topic
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, Recorders
from kentongan_testkit.plugin import ClientFactory

from tests.test_cloud_incidents import (
    ORIGIN,
    commands_of,
    key_delivered,
    neighbours,
    operator_token,
    post_of,
)
from tests.test_cloud_intake import acked_ids, incidents


def test_commands_committed_before_a_crash_are_sent_once_after_restart(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    clock = ManualClock()
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec, outbox=False)  # commits, never delivers
    near = neighbours(h)
    origin = post_of(mqtt_client, ORIGIN)
    posts = {gid: post_of(mqtt_client, gid) for gid in near}
    origin.press()
    acked_ids(origin, 1)
    clock.advance(31)
    origin.press()
    acked_ids(origin, 1)
    [inc] = incidents(h)
    assert inc.confirmed
    h.crash()
    for p in posts.values():
        assert not [m for m in p.client.drain(0.2) if m.topic.endswith("/cmd")]
    assert rec.notifier.calls == []

    h2 = cloud.start(clock=clock, recorders=rec)
    for p in posts.values():
        [(cmd, _)] = commands_of(p, 1)
        assert isinstance(cmd.body, SirenOn)
        assert not [m for m in p.client.drain(0.5) if m.topic.endswith("/cmd")]
    key_delivered(h2, rec, f"notice:{inc.id}:confirmed")
    assert rec.notifier.calls.count(f"notice:{inc.id}:confirmed") == 1


def test_a_lost_answer_is_retried_with_the_same_key(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    clock = ManualClock()
    rec = Recorders()
    rec.notifier.fail_next = 1
    h = cloud.start(clock=clock, recorders=rec)
    origin = post_of(mqtt_client, ORIGIN)
    origin.press()
    acked_ids(origin, 1)
    [inc] = incidents(h)
    key = f"notice:{inc.id}:opened"
    clock.advance(31)
    h.wait_for(lambda: rec.notifier.calls == [key], what="first attempt")
    # The failure is recorded (its backoff counted from the clock then) before time moves on.
    h.wait_for(lambda: h.db(lambda tx: tx.outbox.attempts_of(key)) == 1, what="failure mark")
    clock.advance(5)  # past the retry backoff
    h.wait_for(lambda: rec.notifier.calls == [key, key], what="retry")
    assert list(rec.notifier.notices) == [key]
    h.wait_for(lambda: h.db(lambda tx: tx.outbox.state_of(key)) == "delivered", what="mark")


def test_commands_wait_for_the_broker_without_spending_attempts(
    cloud: CloudFactory, broker: MosquittoProcess
) -> None:
    """While the broker is down, commands stay pending untried; the reconnection itself
    sends them, with the clock standing still (no backoff to sit out)."""
    clock = ManualClock()
    h = cloud.start(clock=clock)
    token = operator_token(h)
    broker.kill()
    link = h.runtime.link
    assert link is not None
    h.wait_for(lambda: not link.is_connected(), what="the cloud to notice the broker is gone")
    r = h.api("POST", "/api/v1/area-alarms", token=token, json={"area": {"kampung": ["poncowati"]}})
    assert r.status_code == 201, r.text
    keys = [f"cmd:{c['command_id']}" for c in r.json()["commands"]]
    assert keys  # the broadcast to the district
    time.sleep(1.5)  # several outbox passes while the link is down
    for key in keys:
        assert state_and_attempts(h, key) == ("pending", 0)
    broker.start()
    h.wait_for(
        lambda: all(state_and_attempts(h, k) == ("delivered", 1) for k in keys),  # one try
        what="the commands sent after the reconnection",
    )


def state_and_attempts(h: CloudHarness, key: str) -> tuple[str | None, int | None]:
    async def read(tx: Tx) -> tuple[str | None, int | None]:
        return await tx.outbox.state_of(key), await tx.outbox.attempts_of(key)

    return h.db(read)


def test_area_alarm_all_clear_and_stop(cloud: CloudFactory, mqtt_client: ClientFactory) -> None:
    h = cloud.start()
    token = operator_token(h)
    watcher = post_of(mqtt_client, "tb-poncowati-02")
    watcher.client.subscribe(broadcast_topic("lamteng"))
    r = h.api(
        "POST",
        "/api/v1/area-alarms",
        token=token,
        json={"area": {"kampung": ["poncowati"]}, "pattern": "titir", "duration_s": 60},
    )
    assert r.status_code == 201, r.text
    alarm_id = r.json()["alarm_id"]
    msg = watcher.client.get(timeout=10)
    b = Broadcast.model_validate_json(msg.payload)
    assert (b.action, b.pattern, b.revision, str(b.alarm_id)) == (
        "area_alarm",
        "titir",
        1,
        alarm_id,
    )
    assert b.area.kampung == ["poncowati"]
    assert msg.properties is not None
    assert 0 < getattr(msg.properties, "MessageExpiryInterval", 0) <= 60
    r = h.api("POST", f"/api/v1/area-alarms/{alarm_id}/all-clear", token=token)
    assert r.status_code == 200, r.text
    b = Broadcast.model_validate_json(watcher.client.get(timeout=10).payload)
    assert (b.action, b.pattern, b.revision) == ("all_clear", "aman", 2)
    r = h.api("POST", f"/api/v1/area-alarms/{alarm_id}/stop", token=token)
    assert r.status_code == 409
    assert r.json() == {"detail": "area alarm is already ended (all_clear)"}

    second = h.api(
        "POST", "/api/v1/area-alarms", token=token, json={"area": {"kampung": ["poncowati"]}}
    )
    watcher.client.get(timeout=10)
    r = h.api("POST", f"/api/v1/area-alarms/{second.json()['alarm_id']}/stop", token=token)
    assert r.status_code == 200, r.text
    [(cmd, _)] = commands_of(watcher, 1)
    assert isinstance(cmd.body, SirenOff)
    assert cmd.body.revision == 2
    assert {c["target"] for c in r.json()["commands"]} >= {"broadcast", "tb-poncowati-02"}
