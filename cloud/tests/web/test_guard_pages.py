"""The guard's phone over plain HTTP: enrolment by an operator's code, PIN, lockout, revoke,
and a panic through the phone intake with the guard's session."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from kentongan_cloud.web.routes_guard import PIN_TRIES
from kentongan_testkit.cloudharness import CloudHarness

from .conftest import Browser
from .test_console_pages import _login


def _enrol_link(op: Browser, csrf: str, gateway_id: str) -> str:
    r = op.post(
        "/konsol/penjaga/daftar",
        data={"csrf": csrf, "gateway_id": gateway_id, "guard_name": "Pak Joko"},
    )
    assert r.status_code == 200
    assert "<svg" in r.text
    m = re.search(r'id="enrol-link" href="http://kentongan\.test(/jaga/daftar/[^"]+)"', r.text)
    assert m is not None
    return m.group(1)


def _enrolled_phone(web: CloudHarness, pin: str = "2468") -> tuple[Browser, Browser, str]:
    op = Browser(web)
    csrf = _login(op)
    gw = sorted(web.runtime.directory.sites)[0]
    link = _enrol_link(op, csrf, gw)
    phone = Browser(web)
    form = phone.get(link)
    r = phone.post(link, data={"csrf": phone.csrf(form.text), "pin": pin, "pin2": pin})
    assert r.status_code == 303, r.text
    return op, phone, gw


def _unlock(phone: Browser, pin: str) -> str:
    page = phone.get("/jaga")
    r = phone.post("/jaga/buka", data={"csrf": phone.csrf(page.text), "pin": pin})
    return phone.get("/jaga").text if r.status_code == 303 else r.text


def test_enrol_unlock_and_panic(web: CloudHarness) -> None:
    op, phone, _ = _enrolled_phone(web)
    try:
        assert 'id="pin"' in phone.get("/jaga").text
        panic_page = _unlock(phone, "2468")
        assert 'id="panic"' in panic_page
        m = re.search(r'<meta name="csrf" content="([^"]+)">', panic_page)
        assert m is not None
        event = {
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
        }
        r = phone.post("/api/v1/intake/phone", json=event, headers={"X-CSRF-Token": m.group(1)})
        assert r.status_code == 201, r.text
        incident = r.json()["incident_id"]
        assert f'data-id="{incident}"' in op.get("/konsol").text
        late = phone.post(
            "/jaga/posisi",
            json={"incident_id": incident, "position": {"lat": -4.9, "lon": 105.2}},
            headers={"X-CSRF-Token": m.group(1)},
        )
        assert late.status_code == 204
        detail = op.get(f"/konsol/insiden/{incident}").text
        assert "posisi HP penjaga: -4.900000, 105.200000" in detail
        notices = detail.split('<table id="notices">')[1].split("</table>")[0]
        assert "<td>opened</td><td>pending</td>" in notices
    finally:
        op.close()
        phone.close()


def test_enrolment_code_works_once(web: CloudHarness) -> None:
    op = Browser(web)
    other = Browser(web)
    try:
        link = _enrol_link(op, _login(op), sorted(web.runtime.directory.sites)[0])
        first = Browser(web)
        form = first.get(link)
        first.post(link, data={"csrf": first.csrf(form.text), "pin": "1234", "pin2": "1234"})
        first.close()
        again = other.get(link)
        assert again.status_code == 404
        assert "Kode pendaftaran tidak berlaku" in again.text
    finally:
        op.close()
        other.close()


def test_pin_rules_on_enrolment(web: CloudHarness) -> None:
    op = Browser(web)
    phone = Browser(web)
    try:
        link = _enrol_link(op, _login(op), sorted(web.runtime.directory.sites)[0])
        csrf = phone.csrf(phone.get(link).text)
        r = phone.post(link, data={"csrf": csrf, "pin": "12", "pin2": "12"})
        assert r.status_code == 422
        assert "PIN harus 4-8 angka." in r.text
        r = phone.post(link, data={"csrf": csrf, "pin": "1234", "pin2": "1235"})
        assert "PIN tidak sama." in r.text
    finally:
        op.close()
        phone.close()


def test_wrong_pins_lock_the_phone_in_the_database(web: CloudHarness) -> None:
    op, phone, _ = _enrolled_phone(web)
    try:
        text = _unlock(phone, "0000")
        assert f"PIN salah. Sisa percobaan: {PIN_TRIES - 1}." in text
        for _ in range(PIN_TRIES - 2):
            _unlock(phone, "0000")
        text = _unlock(phone, "0000")
        assert "HP ini terkunci" in text
        assert "HP ini terkunci" in phone.get("/jaga").text
        # even the right PIN no longer opens it; the lock is a database row
        csrf = phone.csrf(Browser.get(phone, "/lapor").text)
        r = phone.post("/jaga/buka", data={"csrf": csrf, "pin": "2468"})
        assert "HP ini terkunci" in phone.get(r.headers["location"]).text
        devices = web.db(lambda tx: tx.guards.devices())
        assert devices[0].locked_at is not None
        assert devices[0].failed_pins == PIN_TRIES
    finally:
        op.close()
        phone.close()


def test_operator_revokes_a_phone(web: CloudHarness) -> None:
    op, phone, _ = _enrolled_phone(web)
    try:
        assert 'id="panic"' in _unlock(phone, "2468")
        device = web.db(lambda tx: tx.guards.devices())[0]
        csrf = op.csrf(op.get("/konsol/penjaga").text)
        op.post(f"/konsol/penjaga/{device.device_id}/cabut", data={"csrf": csrf})
        r = phone.get("/jaga")
        assert r.status_code == 403
        assert "HP ini sudah dicabut oleh operator." in r.text
    finally:
        op.close()
        phone.close()
