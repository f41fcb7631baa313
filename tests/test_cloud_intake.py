"""The cloud's intake with a real Mosquitto and both databases: exactly one incident per event,
ack after commit, rejections counted by reason, dead letters, sequence gaps, persistent
session."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kentongan_cloud.domain.incident import Incident
from kentongan_cloud.errors import ConfigError
from kentongan_protocol.payloads import EventAck
from kentongan_protocol.provisioning.tree import load_tree
from kentongan_protocol.topics import Suffix
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, VirtualPost
from kentongan_testkit.plugin import ClientFactory

DISTRICT = "lamteng"
POST = "tb-poncowati-01"


def _post(mqtt_client: ClientFactory, gid: str = POST) -> VirtualPost:
    post = VirtualPost(mqtt_client(gid), DISTRICT, gid)
    post.listen()
    return post


def acked_ids(post: VirtualPost, n: int, timeout: float = 15) -> set[str]:
    """Event ids the cloud acknowledged to this post, until `n` distinct ones arrived."""
    got: set[str] = set()
    while len(got) < n:
        msg = post.client.get(timeout=timeout)
        if msg.topic.endswith("/event/ack"):
            got |= {str(i) for i in EventAck.model_validate_json(msg.payload).event_ids}
    return got


def incidents(h: CloudHarness) -> list[Incident]:
    return h.db(lambda tx: tx.incidents.search(limit=500))


def rejections(h: CloudHarness) -> dict[str, int]:
    return h.db(lambda tx: tx.intake.rejection_counts())


def test_a_press_becomes_one_incident_and_is_acked_only_after_commit(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    post = _post(mqtt_client)
    ev = post.press()
    assert acked_ids(post, 1) == {str(ev.event_id)}
    # The ack left after the commit: the event and its incident are already stored.
    stored = h.db(lambda tx: tx.intake.get_event(str(ev.event_id)))
    assert stored is not None
    assert stored.outcome == "opened"
    [inc] = incidents(h)
    assert inc.id == stored.incident_id
    assert (inc.gateway_id, inc.incident_type, inc.state, inc.count) == (
        POST,
        "pencurian",
        "new",
        1,
    )


def test_resent_events_are_acked_again_and_stored_once(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    post = _post(mqtt_client)
    ev = post.event()
    for _ in range(3):
        post.send(ev)
        assert acked_ids(post, 1) == {str(ev.event_id)}
    assert h.db(lambda tx: tx.intake.count_events()) == 1
    [inc] = incidents(h)
    assert inc.count == 1


def test_hostile_payloads_are_counted_by_reason_and_valid_events_still_flow(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    post = _post(mqtt_client)
    topic = post.topic(Suffix.EVENT)
    good = post.event().model_dump(mode="json")
    hostile = {
        "bad_json": [b"{not json", b"\xff\xfe\x00garbage", b"[" * 3000],
        "schema": [
            _json(good | {"gateway_id": "gs-buyut-udik-01"}),  # wrong gateway in the body
            _json(good | {"seq": -1}),
            _json({k: v for k, v in good.items() if k != "event_id"}),
        ],
        "oversize": [b'{"x": "' + b"a" * 9000 + b'"}'],
        "mismatch": [
            _json(good | {"event_id": str(uuid.uuid4()), "incident_type": "gempa_bumi"}),
            _json(good | {"event_id": str(uuid.uuid4()), "source": "web"}),
        ],
    }
    for payloads in hostile.values():
        for p in payloads:
            post.client.publish(topic, p)
    post.client.publish(post.topic(Suffix.TELEMETRY), b'{"session_id": 5}')
    # A far-future clock is flagged, never a reason to drop a panic.
    future = post.press(occurred_at=datetime.now(UTC) + timedelta(days=400), clock_synced=False)
    assert acked_ids(post, 1) == {str(future.event_id)}
    counts = h.wait_for(lambda: (c := rejections(h)).get("mismatch") == 2 and c, what="counts")
    assert counts == {"bad_json": 3, "schema": 4, "oversize": 1, "mismatch": 2}
    assert len(incidents(h)) == 1
    metrics = h.api("GET", "/metrics").text
    assert 'kentongan_intake_rejected_total{reason="schema"} 4' in metrics


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_revoked_and_unknown_gateways_are_refused(
    cloud: CloudFactory, mqtt_client: ClientFactory, config_tree: Path
) -> None:
    cloud.start().stop()  # the registry knows every post
    # The broker still lets both in (its ACL is reloaded later); the cloud already knows.
    (config_tree / "revoked.yaml").write_text(
        "revoked:\n  - {gateway_id: gs-buyut-udik-01, at: '2024-08-01', reason: stolen}\n"
    )
    (config_tree / "gateways" / "pg-toto-katon-01.yaml").unlink()
    h = cloud.start(provisioning=load_tree(config_tree))
    for gid in ("gs-buyut-udik-01", "pg-toto-katon-01"):
        _post(mqtt_client, gid).press()
    counts = h.wait_for(lambda: len(c := rejections(h)) == 2 and c, what="refusals")
    assert counts == {"revoked_gateway": 1, "unknown_gateway": 1}
    assert incidents(h) == []
    fleet = {g["gateway_id"]: g for g in h.db(lambda tx: tx.fleet.rows())}
    assert fleet["gs-buyut-udik-01"]["revoked"]
    assert fleet["pg-toto-katon-01"]["retired"]


def test_an_uncommittable_event_goes_to_dead_letters_and_is_acked(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    if h.runtime.db.dialect == "postgresql":
        h.call(
            h.runtime.db.execute_sql(
                "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                "IF NEW.input = 'poison' THEN RAISE EXCEPTION 'poisoned input'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        h.call(
            h.runtime.db.execute_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )
        )
    else:
        h.call(
            h.runtime.db.execute_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.input = 'poison' "
                "BEGIN SELECT RAISE(ABORT, 'poisoned input'); END"
            )
        )
    post = _post(mqtt_client)
    bad = post.press(input="poison")
    assert acked_ids(post, 1) == {str(bad.event_id)}
    good = post.press()
    assert acked_ids(post, 1) == {str(good.event_id)}
    [(_, topic, payload, error, _)] = h.db(lambda tx: tx.intake.dead_letters())
    assert topic == post.topic(Suffix.EVENT)
    assert str(bad.event_id).encode() in payload
    assert "poisoned input" in error
    assert h.db(lambda tx: tx.intake.get_event(str(good.event_id))) is not None
    assert h.db(lambda tx: tx.intake.get_event(str(bad.event_id))) is None


def test_sequence_gaps_per_session_are_shown(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    post = _post(mqtt_client)
    sent = []
    for seq in (1, 2, 5, 6):
        post.seq = seq - 1
        sent.append(post.press(input="tombol_pencurian"))
    acked_ids(post, 4)
    [session] = h.db(lambda tx: tx.intake.sessions(POST))
    assert (session.first_seq, session.max_seq, session.received, session.missing) == (1, 6, 4, 2)


def test_events_sent_while_the_cloud_is_down_arrive_in_group_commits(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    h.crash()  # the broker keeps the cloud's persistent session and queues for it
    post = _post(mqtt_client)
    events = [post.event(input="tombol_pencurian") for _ in range(300)]
    for ev in events:
        assert post.send(ev) == 0  # 0: a subscriber (the cloud's session) exists
    h2 = cloud.start()
    assert acked_ids(post, 300) == {str(e.event_id) for e in events}
    assert h2.db(lambda tx: tx.intake.count_events()) == 300
    [inc] = incidents(h2)
    assert inc.count == 300
    # Far fewer commits than events: the backlog was committed in batches.
    assert h2.runtime.intake.stats.largest_batch > 1
    assert h2.runtime.intake.stats.batches < 300


def test_bad_broker_credentials_stop_the_cloud_with_a_clear_message(cloud: CloudFactory) -> None:
    with pytest.raises(ConfigError, match="broker refused the connection: Not authorized"):
        cloud.start(mqtt_overrides={"password": "wrong-password"})


def test_messages_are_taken_on_the_event_loop_without_a_network_thread(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    """paho runs on the cloud's event loop: no thread of its own to trade the GIL with
    the database driver's, and a message reaches the intake with no hand-over between
    threads."""
    h = cloud.start()
    takers: list[int] = []
    offer = h.runtime.intake.offer

    def recording(topic: str, payload: bytes, ack: Callable[[], None] | None) -> None:
        takers.append(threading.get_ident())
        offer(topic, payload, ack)

    h.runtime.intake.offer = recording  # type: ignore[method-assign]
    post = _post(mqtt_client)
    ev = post.press()
    assert acked_ids(post, 1) == {str(ev.event_id)}
    assert takers
    assert set(takers) == {h.thread.ident}
    cloud_thread = f"paho-mqtt-client-{h.runtime.settings.mqtt.username}"
    assert cloud_thread not in [t.name for t in threading.enumerate()]
