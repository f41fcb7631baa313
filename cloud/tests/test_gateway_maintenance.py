"""A post's maintenance switch through the API, on both databases: only technicians and
admins may use it, unknown and revoked posts are refused, bad bodies say what is wrong, and
each switch is one expiring command with its audit line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from kentongan_cloud.fanout import CommandEnvelope
from kentongan_protocol.payloads import Command, Maintenance
from kentongan_protocol.provisioning.tree import load_tree
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness

from .conftest import PASSWORD, Login, add_user

POST = "tb-poncowati-01"
PATH = f"/api/v1/gateways/{POST}/maintenance"


@pytest.mark.parametrize("role", ["viewer", "operator", "supervisor"])
def test_only_technicians_and_admins_switch_maintenance(
    api: CloudHarness, login: Login, role: str
) -> None:
    r = api.api("POST", PATH, token=login(role), json={"on": True, "minutes": 30})
    assert (r.status_code, r.json()) == (
        403,
        {"detail": f"role {role} may not switch a post's maintenance mode"},
    )
    # They may still read the state.
    assert api.api("GET", PATH, token=login(role, name=f"{role}2")).status_code == 200


def test_a_switch_is_one_audited_expiring_command(api: CloudHarness, login: Login) -> None:
    tech = login("technician", name="joko")
    r = api.api("POST", PATH, token=tech, json={"on": True, "minutes": 90})
    assert r.status_code == 202, r.text
    view = r.json()
    [cmd] = view["commands"]
    assert (cmd["target"], cmd["action"], cmd["outcome"]) == (POST, "maintenance_on", "pending")
    assert [(a["actor"], a["action"], a["detail"], a["command_id"]) for a in view["audit"]] == [
        ("technician:joko", "maintenance_on", "90 min", cmd["command_id"])
    ]
    r = api.api("POST", PATH, token=login("admin"), json={"on": False})
    assert r.status_code == 202, r.text
    view = r.json()
    assert [c["action"] for c in view["commands"]] == ["maintenance_off", "maintenance_on"]
    assert [a["actor"] for a in view["audit"]] == ["admin:admin", "technician:joko"]
    # The outbox holds each command's wire bytes and the moment it stops making sense.
    now = api.runtime.clock.now()
    rows = api.db(lambda tx: tx.outbox.claim(("command",), now, 10, 30))
    envelopes = [CommandEnvelope.model_validate_json(row.payload) for row in rows]
    assert {e.target for e in envelopes} == {POST}
    expiry = api.runtime.operations.command_expiry_s
    assert all(now < e.expires_at <= now + timedelta(seconds=expiry) for e in envelopes)
    bodies = [Command.model_validate_json(e.body).body for e in envelopes]
    assert set(bodies) == {
        Maintenance(action="maintenance", on=False),
        Maintenance(action="maintenance", on=True, minutes=90),
    }


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"on": True}, "minutes (1..1440) are needed to switch maintenance on"),
        ({"on": True, "minutes": 0}, "greater than or equal to 1"),
        ({"on": True, "minutes": 1441}, "less than or equal to 1440"),
        ({"on": False, "minutes": 5}, "minutes go only with on=true"),
        ({"minutes": 5}, "Field required"),
    ],
)
def test_a_bad_body_says_what_is_wrong(
    api: CloudHarness, login: Login, body: dict[str, object], says: str
) -> None:
    r = api.api("POST", PATH, token=login("technician"), json=body)
    assert r.status_code == 422
    assert says in r.text
    assert api.api("GET", PATH, token=login("viewer")).json()["commands"] == []


def test_unknown_and_revoked_posts_are_refused(cloud: CloudFactory, config_tree: Path) -> None:
    (config_tree / "revoked.yaml").write_text(
        "revoked:\n  - {gateway_id: gs-buyut-udik-01, at: '2024-08-01', reason: dicuri}\n"
    )
    h = cloud.start(mqtt=False, outbox=False, sweeper=False, provisioning=load_tree(config_tree))
    add_user(h, "joko", "technician")
    r = h.api("POST", "/api/v1/auth/login", json={"username": "joko", "password": PASSWORD})
    token = r.json()["token"]
    on = {"on": True, "minutes": 30}
    r = h.api("POST", "/api/v1/gateways/pos-hantu-01/maintenance", token=token, json=on)
    assert (r.status_code, r.json()) == (404, {"detail": "gateway pos-hantu-01 not found"})
    r = h.api("POST", "/api/v1/gateways/gs-buyut-udik-01/maintenance", token=token, json=on)
    assert (r.status_code, r.json()) == (
        409,
        {"detail": "gateway gs-buyut-udik-01 is revoked (dicuri): it takes no commands"},
    )
    assert h.db(lambda tx: tx.fleet.audit_of("gs-buyut-udik-01")) == []
