"""The cloud's intake with a real Mosquitto and both databases: exactly one incident per event,
ack after commit, rejections counted, dead letters, sequence gaps."""

from __future__ import annotations

from kentongan_cloud.domain.incident import Incident
from kentongan_protocol.payloads import EventAck
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, VirtualPost
from kentongan_testkit.plugin import ClientFactory

DISTRICT = "lamteng"
POST = "tb-poncowati-01"


def _post(mqtt_client: ClientFactory, gid: str = POST) -> VirtualPost:
    post = VirtualPost(mqtt_client(gid), DISTRICT, gid)
    post.listen()
    return post


def _acked_ids(post: VirtualPost, n: int) -> set[str]:
    got: set[str] = set()
    while len(got) < n:
        msg = post.client.get(timeout=15)
        if msg.topic.endswith("/event/ack"):
            got |= {str(i) for i in EventAck.model_validate_json(msg.payload).event_ids}
    return got


def _incidents(h: CloudHarness) -> list[Incident]:
    return h.db(lambda tx: tx.incidents.search(limit=500))


def test_a_press_becomes_one_incident_and_is_acked_after_commit(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    post = _post(mqtt_client)
    ev = post.press()
    acked = _acked_ids(post, 1)
    # The ack is only sent after the commit: the event is in the database by now.
    assert acked == {str(ev.event_id)}
    stored = h.db(lambda tx: tx.intake.get_event(str(ev.event_id)))
    assert stored is not None
    incs = _incidents(h)
    assert len(incs) == 1
