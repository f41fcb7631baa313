"""Roles on both databases: a responder reaches only its agency's incidents (404 for the
others) and may acknowledge and add notes, nothing more; admins manage accounts; every
refusal says which role may not do what."""

from __future__ import annotations

import pytest
from kentongan_cloud.store.db import Tx
from kentongan_cloud.store.responders import pages
from kentongan_testkit.cloudharness import CloudHarness
from sqlalchemy import insert

from .conftest import Login

# Routing of the sample district: a fire in Poncowati (kecamatan Terbanggi Besar) pages the
# fire brigade, that kecamatan's police and Poncowati's Ketua RT; a medical emergency in
# Toto Katon (Punggur) pages the ambulance and Toto Katon's Ketua RT.
FIRE = {"incident_type": "kebakaran", "kampung": "poncowati"}
MEDICAL = {"incident_type": "darurat_medis", "kampung": "toto-katon"}


@pytest.fixture
def incidents(api: CloudHarness, login: Login) -> dict[str, str]:
    """incident type → id, for the two reports above."""
    for body in (FIRE, MEDICAL):
        r = api.api("POST", "/api/v1/reports", json=body)
        assert r.status_code == 201, r.text
    listed = api.api("GET", "/api/v1/incidents", token=login("viewer")).json()
    return {i["incident_type"]: i["id"] for i in listed}


def listed(api: CloudHarness, token: str) -> set[str]:
    r = api.api("GET", "/api/v1/incidents", token=token)
    assert r.status_code == 200, r.text
    return {i["incident_type"] for i in r.json()}


@pytest.mark.parametrize(
    ("agency", "sees"),
    [
        ("polsek-terbanggi-besar", {"kebakaran"}),  # police of the fire's kecamatan
        ("rt-toto-katon", {"darurat_medis"}),  # the kampung's Ketua RT
        ("psc119-lamteng", {"darurat_medis"}),  # district-wide ambulance
        ("polsek-punggur", set()),  # police elsewhere; medical is not theirs
    ],
)
def test_a_responder_lists_and_reads_only_its_agencys_incidents(
    api: CloudHarness, login: Login, incidents: dict[str, str], agency: str, sees: set[str]
) -> None:
    token = login("responder", agency=agency)
    assert listed(api, token) == sees
    for itype, iid in incidents.items():
        for path in (f"/api/v1/incidents/{iid}", f"/api/v1/incidents/{iid}/cap"):
            r = api.api("GET", path, token=token)
            if itype in sees:
                assert r.status_code == 200, r.text
            else:
                assert (r.status_code, r.json()) == (404, {"detail": f"incident {iid} not found"})


def test_a_responder_paged_for_an_incident_sees_it(
    api: CloudHarness, login: Login, incidents: dict[str, str]
) -> None:
    """The command centre is routed nothing by type; it sees what it was paged for."""
    token = login("responder", agency="command-centre-lamteng")
    assert listed(api, token) == set()

    async def page(tx: Tx) -> None:
        await tx.conn.execute(
            insert(pages).values(
                id="p1",
                incident_id=incidents["kebakaran"],
                person_id="cc-supervisor",
                agency_id="command-centre-lamteng",
                reply_code="123456",
                created_ms=0,
            )
        )

    api.db(page)
    assert listed(api, token) == {"kebakaran"}


def test_a_responder_acknowledges_and_notes_its_own_incident_only(
    api: CloudHarness, login: Login, incidents: dict[str, str]
) -> None:
    token = login("responder", agency="damkar-lamteng", name="andi")
    fire, medical = incidents["kebakaran"], incidents["darurat_medis"]
    r = api.api("POST", f"/api/v1/incidents/{fire}/acknowledge", token=token)
    assert (r.status_code, r.json()["acknowledged_by"]) == (200, "responder:andi")
    r = api.api("POST", f"/api/v1/incidents/{fire}/notes", token=token, json={"text": "OTW"})
    assert r.status_code == 200, r.text
    audit = [(a["action"], a["actor"]) for a in r.json()["audit"]]
    assert audit[1:] == [("acknowledged", "responder:andi"), ("note", "responder:andi")]
    for step in ("acknowledge", "notes"):
        r = api.api("POST", f"/api/v1/incidents/{medical}/{step}", token=token, json={"text": "x"})
        assert (r.status_code, r.json()) == (404, {"detail": f"incident {medical} not found"})


REFUSED_TO_RESPONDERS: list[tuple[str, str, object, str]] = [
    ("POST", "/incidents/{id}/dispatch", None, "change incidents"),
    ("POST", "/incidents/{id}/resolve", None, "change incidents"),
    ("POST", "/incidents/{id}/false-alarm", None, "change incidents"),
    ("POST", "/incidents/{id}/cancel", None, "change incidents"),
    ("POST", "/incidents/{id}/sirens", {"action": "start"}, "change incidents"),
    ("POST", "/area-alarms", {"area": {}}, "sound area alarms"),
    ("GET", "/area-alarms", None, "read incidents"),
    ("GET", "/fleet", None, "read the fleet"),
    ("GET", "/users", None, "manage user accounts"),
]


def test_a_responder_is_refused_with_words(
    api: CloudHarness, login: Login, incidents: dict[str, str]
) -> None:
    token = login("responder", agency="damkar-lamteng")  # the fire is its own incident
    for method, path, body, refusal in REFUSED_TO_RESPONDERS:
        url = "/api/v1" + path.replace("{id}", incidents["kebakaran"])
        r = api.api(method, url, token=token, json=body)
        expected = (403, {"detail": f"role responder may not {refusal}"})
        assert (r.status_code, r.json()) == expected, (method, path)


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("admin", {"fleet", "dispatch", "users"}, {}),
        ("operator", {"fleet", "dispatch"}, {"users": "manage user accounts"}),
        (
            "technician",
            {"fleet"},
            {"dispatch": "change incidents", "users": "manage user accounts"},
        ),
    ],
)
def test_what_admins_operators_and_technicians_may_do(
    api: CloudHarness,
    login: Login,
    incidents: dict[str, str],
    role: str,
    allowed: set[str],
    refused: dict[str, str],
) -> None:
    token = login(role)
    calls = {
        "fleet": ("GET", "/api/v1/fleet"),
        "dispatch": ("POST", f"/api/v1/incidents/{incidents['kebakaran']}/dispatch"),
        "users": ("GET", "/api/v1/users"),
    }
    for name, (method, path) in calls.items():
        r = api.api(method, path, token=token)
        if name in allowed:
            assert r.status_code == 200, (name, r.text)
        else:
            assert (r.status_code, r.json()) == (
                403,
                {"detail": f"role {role} may not {refused[name]}"},
            )
