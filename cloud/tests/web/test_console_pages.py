"""The operator console over plain HTTP: login, board, steps with CSRF, area alarms with a
confirmation step, handover log, recap, fleet and map data."""

from __future__ import annotations

import re
from typing import Any

from kentongan_cloud.web.board import open_rows
from kentongan_cloud.web.map_data import map_snapshot
from kentongan_protocol.payloads import AreaFilter
from kentongan_testkit.cloudharness import CloudHarness

from .conftest import PASSWORD, Browser, add_user, report_incident


def _login(b: Browser, name: str = "sari", role: str = "operator") -> str:
    add_user(b.h, name, role)
    page = b.get("/konsol/masuk")
    r = b.post(
        "/konsol/masuk",
        data={"username": name, "password": PASSWORD, "csrf": b.csrf(page.text)},
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/konsol"
    board = b.get("/konsol")
    assert board.status_code == 200
    return b.csrf(board.text)


def _kampung(h: CloudHarness) -> str:
    return sorted(h.runtime.directory.places)[0]


def test_board_needs_login(browser: Browser) -> None:
    r = browser.get("/konsol")
    assert r.status_code == 303
    assert r.headers["location"] == "/konsol/masuk"


def test_wrong_password_is_refused_with_a_message(browser: Browser) -> None:
    add_user(browser.h, "sari", "operator")
    page = browser.get("/konsol/masuk")
    r = browser.post(
        "/konsol/masuk",
        data={"username": "sari", "password": "salah", "csrf": browser.csrf(page.text)},
    )
    assert r.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in r.text


def test_guard_account_cannot_use_the_console(browser: Browser) -> None:
    add_user(browser.h, "ronda", "guard", "pos-a")
    page = browser.get("/konsol/masuk")
    r = browser.post(
        "/konsol/masuk",
        data={"username": "ronda", "password": PASSWORD, "csrf": browser.csrf(page.text)},
    )
    assert r.status_code == 403


def test_verify_a_resident_report_from_the_board(browser: Browser, web: CloudHarness) -> None:
    csrf = _login(browser)
    inc = report_incident(web)
    board = browser.get("/konsol").text
    assert f'data-id="{inc}"' in board
    assert "laporan warga, belum diverifikasi" in board
    refused = browser.post(f"/konsol/insiden/{inc}/verify", data={"csrf": "forged"})
    assert refused.status_code == 403
    r = browser.post(f"/konsol/insiden/{inc}/verify", data={"csrf": csrf})
    assert r.status_code == 303
    detail = browser.get(f"/konsol/insiden/{inc}").text
    assert "<strong>diterima</strong>" in detail
    assert "laporan warga diverifikasi" in detail
    # a step that no longer applies is refused with a message, not a crash
    r = browser.post(f"/konsol/insiden/{inc}/verify", data={"csrf": csrf})
    assert "galat=konflik" in r.headers["location"]
    assert "kejadian sudah berubah" in browser.get(r.headers["location"]).text


def test_viewer_sees_but_cannot_act(browser: Browser, web: CloudHarness) -> None:
    csrf = _login(browser, "dewi", "viewer")
    inc = report_incident(web)
    assert "act-verify" not in browser.get("/konsol").text
    r = browser.post(f"/konsol/insiden/{inc}/verify", data={"csrf": csrf})
    assert r.status_code == 403


def test_area_alarm_asks_before_it_sounds(browser: Browser, web: CloudHarness) -> None:
    csrf = _login(browser)
    kc = web.runtime.directory.district.kecamatan[0]
    page = browser.post("/konsol/alarm-area/konfirmasi", data={"csrf": csrf, "area": f"kc:{kc.id}"})
    assert page.status_code == 200
    assert "Yakin?" in page.text
    some = web.runtime.directory.sites_in_area(AreaFilter(kecamatan=[kc.id]))[0]
    assert some.post_name in page.text
    assert web.db(lambda tx: tx.commands.area_alarms()) == []
    r = browser.post(
        "/konsol/alarm-area/mulai", data={"csrf": csrf, "area": f"kc:{kc.id}", "pattern": "titir"}
    )
    assert r.status_code == 303
    alarms = web.db(lambda tx: tx.commands.area_alarms())
    assert len(alarms) == 1
    alarm = alarms[0].alarm_id
    ask = browser.post(f"/konsol/alarm-area/{alarm}/all_clear", data={"csrf": csrf})
    assert "confirm-end" in ask.text
    before = web.db(lambda tx: tx.commands.area_alarm(alarm))
    assert before is not None
    assert before.stopped_at is None
    browser.post(f"/konsol/alarm-area/{alarm}/all_clear", data={"csrf": csrf, "confirmed": "yes"})
    after = web.db(lambda tx: tx.commands.area_alarm(alarm))
    assert after is not None
    assert after.stopped_at is not None


def test_shift_start_and_handover_are_logged(browser: Browser) -> None:
    csrf = _login(browser)
    assert browser.post("/konsol/shift/mulai", data={"csrf": csrf}).status_code == 303
    assert "Shift berjalan" in browser.get("/konsol").text
    browser.post("/konsol/shift", data={"csrf": csrf, "text": "Sirene pos 3 lemah"})
    log = browser.get("/konsol/shift").text
    assert "Sirene pos 3 lemah" in log
    assert "operator:sari" in log
    # a handover note does not end the shift; another operator starting one does
    board = browser.get("/konsol").text
    assert re.search(r'id="start-shift" hidden', board), "the start button came back"
    other = Browser(browser.h)
    try:
        other_csrf = _login(other, "budi")
        other.post("/konsol/shift/mulai", data={"csrf": other_csrf})
    finally:
        other.close()
    assert not re.search(r'id="start-shift" hidden', browser.get("/konsol").text)


def test_recap_fleet_and_map(browser: Browser, web: CloudHarness) -> None:
    _login(browser)
    report_incident(web)
    recap = browser.get("/konsol/rekap").text
    assert re.search(r'id="recap-total">1<', recap)
    fleet = browser.get("/konsol/armada").text
    some_post = next(iter(web.runtime.directory.sites.values()))
    assert some_post.post_name in fleet
    # The map's picture, as the stream's `map` event carries it (the browser test follows
    # the stream itself).
    data = web.call(map_snapshot(web.runtime, web.call(open_rows(web.runtime, "id"))))
    assert len(data["incidents"]) == 1
    assert set(data["incidents"][0]) == {"id", "type_label", "post", "kampung", "lat", "lon"}
    assert {p["state"] for p in data["posts"]} <= {"online", "offline", "alarm"}
    page = browser.get("/konsol/peta").text
    assert "/static/leaflet/leaflet.js" in page
    assert browser.get("/static/leaflet/leaflet.js").status_code == 200


def test_link_a_resident_report_to_an_incident(browser: Browser, web: CloudHarness) -> None:
    csrf = _login(browser)
    target = report_incident(web)
    resident = Browser(web)
    try:
        page = resident.get("/lapor")
        r = resident.post(
            "/lapor",
            data={
                "csrf": resident.csrf(page.text),
                "incident_type": "pencurian",
                "kampung": sorted(web.runtime.directory.places)[-1],
            },
        )
        status_url = r.headers["location"]
        code = status_url.split("/")[2].split("?")[0]

        async def incident_of(tx: Any) -> str:
            return str((await tx.incidents.report(code)).incident_id)

        report = web.db(incident_of)
        assert "Tautkan laporan ini ke kejadian" in browser.get(f"/konsol/insiden/{report}").text
        r = browser.post(f"/konsol/insiden/{report}/tautkan", data={"csrf": csrf, "target": target})
        assert r.headers["location"].startswith(f"/konsol/insiden/{target}")
        assert f"laporan warga {report} ditautkan" in browser.get(r.headers["location"]).text
        browser.post(f"/konsol/insiden/{target}/verify", data={"csrf": csrf})
        status = resident.get(status_url).text
        assert "Digabung dengan kejadian yang sedang ditangani" in status
        assert 'aria-current="step">Dilihat petugas' in status
    finally:
        resident.close()
