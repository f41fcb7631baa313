"""The HTTP API on both databases: auth and roles, the incident lifecycle, residents' reports
and guards' phones through the same intake, CAP export; one test per error path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import pytest
from kentongan_testkit.cloudharness import CloudHarness

from .conftest import PASSWORD, Login, add_user

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def report(api: CloudHarness, **body: object) -> dict[str, object]:
    fields: dict[str, object] = {"incident_type": "kebakaran", "kampung": "poncowati"}
    r = api.api("POST", "/api/v1/reports", json=fields | body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def incident_id_of(api: CloudHarness, token: str) -> str:
    [inc] = api.api("GET", "/api/v1/incidents", token=token).json()
    return str(inc["id"])


# --- authentication and roles -----------------------------------------------------------------


def test_no_credentials(api: CloudHarness) -> None:
    r = api.api("GET", "/api/v1/incidents")
    assert (r.status_code, r.json()) == (401, {"detail": "not authenticated"})


def test_unknown_token(api: CloudHarness) -> None:
    r = api.api("GET", "/api/v1/incidents", token="not-a-token")
    assert (r.status_code, r.json()) == (
        401,
        {"detail": "session expired or unknown; log in again"},
    )


def test_wrong_password(api: CloudHarness) -> None:
    add_user(api, "sari", "operator")
    r = api.api("POST", "/api/v1/auth/login", json={"username": "sari", "password": "salah"})
    assert (r.status_code, r.json()) == (401, {"detail": "wrong username or password"})


def test_login_body_is_checked(api: CloudHarness) -> None:
    r = api.api("POST", "/api/v1/auth/login", json={"username": "sari"})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert (err["loc"], err["type"]) == (["body", "password"], "missing")


def test_viewer_may_read_but_not_act(api: CloudHarness, login: Login) -> None:
    report(api)
    viewer = login("viewer")
    iid = incident_id_of(api, viewer)
    r = api.api("POST", f"/api/v1/incidents/{iid}/acknowledge", token=viewer)
    assert (r.status_code, r.json()) == (403, {"detail": "role viewer may not change incidents"})


def test_cookie_sessions_need_the_csrf_token(api: CloudHarness) -> None:
    report(api)
    add_user(api, "sari", "operator")
    r = api.api("POST", "/api/v1/auth/login", json={"username": "sari", "password": PASSWORD})
    cookie = {"kentongan_session": r.json()["token"]}
    csrf = r.json()["csrf_token"]
    assert "httponly" in r.headers["set-cookie"].lower()
    [inc] = api.api("GET", "/api/v1/incidents", cookies=cookie).json()
    path = f"/api/v1/incidents/{inc['id']}/acknowledge"
    r = api.api("POST", path, cookies=cookie)
    assert (r.status_code, r.json()) == (403, {"detail": "missing or wrong CSRF token"})
    r = api.api("POST", path, cookies=cookie, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text


def test_logout_ends_the_session(api: CloudHarness, login: Login) -> None:
    token = login("operator")
    assert api.api("GET", "/api/v1/auth/me", token=token).json()["role"] == "operator"
    assert api.api("POST", "/api/v1/auth/logout", token=token).status_code == 204
    assert api.api("GET", "/api/v1/auth/me", token=token).status_code == 401


# --- incidents ----------------------------------------------------------------------------------


def test_lifecycle_with_audit(api: CloudHarness, login: Login) -> None:
    report(api)
    op = login("operator")
    iid = incident_id_of(api, op)
    for step, state in (("acknowledge", "acknowledged"), ("dispatch", "dispatched")):
        r = api.api("POST", f"/api/v1/incidents/{iid}/{step}", token=op, json={"note": "ok"})
        assert (r.status_code, r.json()["state"]) == (200, state)
    r = api.api("POST", f"/api/v1/incidents/{iid}/notes", token=op, json={"text": "Damkar OTW"})
    assert r.status_code == 200
    r = api.api("POST", f"/api/v1/incidents/{iid}/resolve", token=op)
    body = r.json()
    assert (body["state"], body["closed_by"]) == ("resolved", "operator:operator")
    detail = api.api("GET", f"/api/v1/incidents/{iid}", token=op).json()
    assert [a["action"] for a in detail["audit"]] == [
        "opened",
        "acknowledged",
        "dispatched",
        "note",
        "resolved",
    ]
    assert detail["audit"][3]["detail"] == "Damkar OTW"
    assert {a["actor"] for a in detail["audit"][1:]} == {"operator:operator"}


def test_unknown_incident(api: CloudHarness, login: Login) -> None:
    r = api.api("GET", "/api/v1/incidents/nope", token=login("viewer"))
    assert (r.status_code, r.json()) == (404, {"detail": "incident nope not found"})


def test_a_step_the_state_does_not_allow(api: CloudHarness, login: Login) -> None:
    report(api)
    op = login("operator")
    iid = incident_id_of(api, op)
    api.api("POST", f"/api/v1/incidents/{iid}/false-alarm", token=op)
    r = api.api("POST", f"/api/v1/incidents/{iid}/acknowledge", token=op)
    assert (r.status_code, r.json()) == (
        409,
        {"detail": "incident is false_alarm; cannot acknowledge"},
    )


def test_a_note_too_long(api: CloudHarness, login: Login) -> None:
    report(api)
    op = login("operator")
    iid = incident_id_of(api, op)
    r = api.api("POST", f"/api/v1/incidents/{iid}/acknowledge", token=op, json={"note": "x" * 1001})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert (err["loc"], err["type"]) == (["body", "note"], "string_too_long")


def test_filters(api: CloudHarness, login: Login) -> None:
    report(api)
    report(api, incident_type="darurat_medis", kampung="adi-jaya")
    op = login("viewer")
    got = api.api("GET", "/api/v1/incidents?incident_type=darurat_medis", token=op).json()
    assert [i["kampung"] for i in got] == ["adi-jaya"]
    assert api.api("GET", "/api/v1/incidents?kampung=poncowati&open_only=true", token=op).json()
    r = api.api("GET", "/api/v1/incidents?limit=0", token=op)
    assert r.status_code == 422


def test_cap_export(api: CloudHarness, login: Login) -> None:
    report(api, position={"lat": -4.9013, "lon": 105.2338}, kampung=None)
    op = login("viewer")
    iid = incident_id_of(api, op)
    r = api.api("GET", f"/api/v1/incidents/{iid}/cap", token=op)
    assert r.headers["content-type"] == "application/cap+xml"
    alert = ET.fromstring(r.content)  # noqa: S314 - our own output
    assert alert.tag == f"{CAP}alert"
    assert alert.findtext(f"{CAP}status") == "Actual"
    assert alert.findtext(f"{CAP}msgType") == "Alert"
    assert alert.findtext(f"{CAP}sent", "").endswith("+07:00")
    info_id, info_en = alert.findall(f"{CAP}info")
    assert info_id.findtext(f"{CAP}language") == "id-ID"
    assert info_en.findtext(f"{CAP}event") == "Fire"
    assert info_id.findtext(f"{CAP}category") == "Fire"
    assert info_id.findtext(f"{CAP}severity") == "Severe"
    assert info_id.findtext(f"{CAP}urgency") == "Immediate"
    assert info_id.findtext(f"{CAP}certainty") == "Possible"  # a resident's word
    area = info_id.find(f"{CAP}area")
    assert area is not None
    assert area.findtext(f"{CAP}circle") == "-4.90130,105.23380 2"
    assert area.findtext(f"{CAP}geocode/{CAP}value") == "18.02.07.2010"


# --- residents and guards ---------------------------------------------------------------------


def test_resident_report_tracking_and_no_sirens_without_an_operator(
    api: CloudHarness, login: Login
) -> None:
    rid = str(uuid.uuid4())
    first = report(api, report_id=rid, name="Bu Sri", phone="+62 812 0000 1111")
    again = report(api, report_id=rid, name="Bu Sri")
    assert len(str(first["tracking_code"])) >= 22  # 128 random bits
    assert (again["tracking_code"], again["duplicate"]) == (first["tracking_code"], True)
    report(api)  # a second resident: joins the same kampung's incident
    status = api.api("GET", str(first["status_url"])).json()
    assert status["state"] == "new"
    assert "Sri" not in str(status)
    op = login("operator")
    [inc] = api.api("GET", "/api/v1/incidents", token=op).json()
    assert (inc["count"], inc["confirmed"], inc["sirens_on"]) == (2, False, False)
    r = api.api("POST", f"/api/v1/incidents/{inc['id']}/sirens", token=op, json={"action": "start"})
    assert r.status_code == 200, r.text
    targets = {c["target"] for c in r.json()["commands"]}
    assert {"tb-poncowati-01", "tb-poncowati-02"} <= targets
    r = api.api("POST", f"/api/v1/incidents/{inc['id']}/sirens", token=op, json={"action": "start"})
    assert (r.status_code, r.json()) == (
        409,
        {"detail": "sirens are already sounding for this incident"},
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"incident_type": "gempa"}, "unknown incident type 'gempa'; choose one of "),
        ({"kampung": None}, "give the kampung or the position"),
        ({"kampung": "atlantis"}, "unknown kampung 'atlantis'"),
    ],
)
def test_resident_report_refused(api: CloudHarness, body: dict[str, object], detail: str) -> None:
    fields: dict[str, object] = {"incident_type": "kebakaran", "kampung": "poncowati"}
    r = api.api("POST", "/api/v1/reports", json=fields | body)
    assert r.status_code == 422
    assert str(r.json()["detail"]).startswith(detail)


def test_unknown_tracking_code(api: CloudHarness) -> None:
    r = api.api("GET", "/api/v1/reports/abc")
    assert (r.status_code, r.json()) == (404, {"detail": "no report with this tracking code"})


def _phone_event(**kw: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "session_id": uuid.uuid4().hex,
        "boot_id": str(uuid.uuid4()),
        "seq": 1,
        "monotonic_ms": 10,
        "occurred_at": datetime.now(UTC).isoformat(),
        "clock_synced": True,
        "source": "phone",
        "kind": "panic",
        "input": "hp_penjaga",
        "incident_type": "pencurian",
    } | kw


def test_guard_phone_through_the_same_intake(api: CloudHarness, login: Login) -> None:
    guard = login("guard", gateway="tb-poncowati-01")
    ev = _phone_event()
    r = api.api("POST", "/api/v1/intake/phone", token=guard, json=ev)
    assert (r.status_code, r.json()["outcome"]) == (201, "opened")
    r = api.api("POST", "/api/v1/intake/phone", token=guard, json=ev)
    assert r.json()["outcome"] == "duplicate"
    r = api.api("POST", "/api/v1/intake/phone", token=guard, json=_phone_event(source="button"))
    assert (r.status_code, r.json()) == (
        422,
        {"detail": "source 'button' is not accepted on this path"},
    )
    r = api.api("POST", "/api/v1/intake/phone", token=guard, json=_phone_event(extra=1))
    assert r.status_code == 422
    op = login("operator")
    r = api.api("POST", "/api/v1/intake/phone", token=op, json=_phone_event())
    assert (r.status_code, r.json()) == (
        403,
        {"detail": "role operator may not report from a post's phone"},
    )


def test_health_and_metrics(api: CloudHarness) -> None:
    report(api)
    health = api.api("GET", "/health").json()
    assert (health["status"], health["district"]) == ("ok", "lamteng")
    text = api.api("GET", "/metrics").text
    assert "kentongan_events_total 1" in text
    assert "kentongan_incidents_open 1" in text


def test_retention_erases_personal_fields_but_keeps_the_status(api: CloudHarness) -> None:
    first = report(api, name="Bu Sri", phone="+62 812 0000 1111", description="asap tebal")
    code = str(first["tracking_code"])
    later = datetime(2100, 1, 1, tzinfo=UTC)
    assert api.db(lambda tx: tx.incidents.erase_personal_data(later)) == 1
    rep = api.db(lambda tx: tx.incidents.report(code))
    assert rep is not None
    assert (rep.name, rep.phone, rep.description) == (None, None, None)
    assert api.api("GET", str(first["status_url"])).json()["state"] == "new"
