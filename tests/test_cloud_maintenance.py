"""A technician switches a post's maintenance mode from the command centre (real Mosquitto,
both databases, a virtual gateway running the real daemon): the post acknowledges, says so
in its heartbeat, and its panics go out as tests that page nobody until maintenance is off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kentongan_cloud.clock import ManualClock
from kentongan_cloud.domain.incident import Incident
from kentongan_edge.virtual import VirtualFleet, VirtualGateway
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, Recorders

from tests.test_cloud_incidents import operator_token
from tests.test_cloud_intake import incidents
from tests.test_edge_delivery import GATEWAY, Posts

POST = GATEWAY
BUTTON = "tombol_kebakaran"
PATH = f"/api/v1/gateways/{POST}/maintenance"


@pytest.fixture
def post(
    provisioning: Provisioning, broker: MosquittoProcess, secrets_store: SecretStore, tmp_path: Path
) -> Iterator[VirtualGateway]:
    """The real daemon, heartbeats on (the command centre learns the mode from them)."""
    profile = EdgeProfile.from_district(provisioning.district)
    with VirtualFleet() as fleet:
        posts = Posts(fleet, provisioning, profile, broker, secrets_store, tmp_path)
        yield posts.online(telemetry=True)


def switch(h: CloudHarness, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Ask for the switch, then wait for the post's ack and the heartbeat that follows it."""
    r = h.api("POST", PATH, token=token, json=body)
    assert r.status_code == 202, r.text
    cid = r.json()["commands"][0]["command_id"]

    def applied() -> dict[str, Any] | None:
        view: dict[str, Any] = h.api("GET", PATH, token=token).json()
        [cmd] = [c for c in view["commands"] if c["command_id"] == cid]
        return view if cmd["acks"] and view["maintenance"] == body["on"] else None

    return h.wait_for(applied, what=f"maintenance {body} applied")


def new_incident(h: CloudHarness, known: set[str]) -> Incident:
    return h.wait_for(
        lambda: next((i for i in incidents(h) if i.id not in known), None), what="an incident"
    )


def test_maintenance_from_the_command_centre(cloud: CloudFactory, post: VirtualGateway) -> None:
    clock = ManualClock()
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec)
    h.wait_for(lambda: h.db(lambda tx: tx.fleet.rows(POST))[0]["online"], what="the birth")
    tech = operator_token(h, "technician")

    view = switch(h, tech, {"on": True, "minutes": 30})
    [ack] = view["commands"][0]["acks"]
    assert (ack["gateway_id"], ack["result"]) == (POST, "done")
    assert ack["detail"] == "maintenance on for 30 min: events go out as status=test"
    assert post.wait_until(lambda d: d.in_maintenance())
    until = view["maintenance_until"]
    assert until is not None
    gw = h.api("GET", f"/api/v1/fleet/{POST}", token=tech).json()
    assert (gw["maintenance"], gw["maintenance_until"]) == (True, until)
    assert [a["actor"] for a in view["audit"]] == ["technician:sari"]

    test_panic = post.raise_panic(BUTTON)
    assert test_panic.status == "test"
    assert post.wait_drained()
    tested = new_incident(h, set())
    assert tested.status == "test"

    view = switch(h, tech, {"on": False})
    assert view["commands"][0]["acks"][0]["result"] == "done"
    assert (view["maintenance"], view["maintenance_until"]) == (False, None)
    assert not post.d.in_maintenance()
    real = post.raise_panic(BUTTON)
    assert real.status == "actual"
    assert post.wait_drained()
    actual = new_incident(h, {tested.id})
    assert actual.status == "actual"

    # Past the cancel window the real panic pages; the test one never did.
    clock.advance(h.runtime.directory.cancel_window_s + 1)
    h.wait_for(
        lambda: any(n.incident_id == actual.id for n in rec.notifier.notices.values()),
        what="the real panic's page",
    )
    assert [n for n in rec.notifier.notices.values() if n.incident_id == tested.id] == []
