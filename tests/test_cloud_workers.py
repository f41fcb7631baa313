"""Several cloud workers on one `$share/` group, each with its own broker account (the broker
takes the username as client id, so two workers on one account would throw each other off).
They split the events; each event is committed once; when one worker dies in the middle of
a stream, the gateways' resends reach the other and nothing is lost."""

from __future__ import annotations

import queue
import time
import uuid

from kentongan_protocol.payloads import Event, EventAck
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, Recorders, VirtualPost
from kentongan_testkit.plugin import ClientFactory

from tests.test_cloud_intake import incidents

DISTRICT = "lamteng"
POSTS = ("tb-poncowati-01", "tb-poncowati-02", "pg-toto-katon-01", "sb-setia-bumi-01")


def worker(cloud: CloudFactory, store: SecretStore, account: str) -> CloudHarness:
    creds = {"username": account, "password": store.get_or_create(account)}
    return cloud.start(recorders=Recorders(), mqtt_overrides=creds, sweeper=False)


class Gateway:
    """A post that keeps each event until the cloud acknowledges it, and resends the rest
    after a timeout, as the edge daemon's outbox does."""

    def __init__(self, mqtt_client: ClientFactory, gid: str) -> None:
        self.post = VirtualPost(mqtt_client(gid), DISTRICT, gid)
        self.post.listen()
        self.pending: dict[uuid.UUID, Event] = {}
        self.acked: set[uuid.UUID] = set()

    def press(self) -> None:
        ev = self.post.press()
        self.pending[ev.event_id] = ev

    def read_acks(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while self.pending and time.monotonic() < deadline:
            try:
                msg = self.post.client.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                return
            if msg.topic.endswith("/event/ack"):
                for eid in EventAck.model_validate_json(msg.payload).event_ids:
                    self.acked.add(eid)
                    self.pending.pop(eid, None)

    def resend(self) -> None:
        for ev in list(self.pending.values()):
            self.post.send(ev)


def settle(gateways: list[Gateway], timeout_s: float = 90.0, resend_after_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while any(g.pending for g in gateways):
        assert time.monotonic() < deadline, {g.post.gateway_id: len(g.pending) for g in gateways}
        for g in gateways:
            g.read_acks(resend_after_s / len(gateways))
        for g in gateways:
            g.resend()


def committed_events(h: CloudHarness) -> int:
    return h.db(lambda tx: tx.intake.count_events())


def test_two_workers_split_the_events_and_each_is_one_incident_row(
    cloud: CloudFactory, mqtt_client: ClientFactory, secrets_store: SecretStore
) -> None:
    w1 = worker(cloud, secrets_store, "cloud-1")
    w2 = worker(cloud, secrets_store, "cloud-2")
    gateways = [Gateway(mqtt_client, gid) for gid in POSTS]
    for _ in range(10):
        for g in gateways:
            g.press()
    settle(gateways)
    assert w1.runtime.intake.stats.committed > 0
    assert w2.runtime.intake.stats.committed > 0
    assert w1.runtime.intake.stats.committed + w2.runtime.intake.stats.committed == 40
    assert committed_events(w1) == 40
    # One open incident per post and type; every event joined exactly one of them.
    found = incidents(w1)
    assert sorted(i.gateway_id or "" for i in found) == sorted(POSTS)
    assert sum(i.count for i in found) == 40


def test_a_worker_killed_mid_stream_loses_nothing(
    cloud: CloudFactory, mqtt_client: ClientFactory, secrets_store: SecretStore
) -> None:
    w1 = worker(cloud, secrets_store, "cloud-1")
    w2 = worker(cloud, secrets_store, "cloud-2")
    gateways = [Gateway(mqtt_client, gid) for gid in POSTS]
    for i in range(30):
        for g in gateways:
            g.press()
        if i == 10:
            w1.crash()
    settle(gateways)
    assert all(len(g.acked) == 30 for g in gateways)
    assert committed_events(w2) == 120
    found = incidents(w2)
    assert sorted(i.gateway_id or "" for i in found) == sorted(POSTS)
    assert sum(i.count for i in found) == 120
