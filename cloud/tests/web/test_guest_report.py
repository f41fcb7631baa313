"""Lapor tamu 24 jam: a household reports overnight guests to its Ketua RT."""

from __future__ import annotations

import httpx
import pytest
from kentongan_cloud.web.ratelimit import PER_BROWSER_PER_HOUR
from kentongan_cloud.web.report_form import HONEYPOT
from kentongan_testkit.cloudharness import CloudHarness

from .conftest import Browser
from .test_console_pages import _login


def _good(web: CloudHarness) -> dict[str, str]:
    return {
        "kampung": sorted(web.runtime.directory.places)[0],
        "rt": "3",
        "host_name": "Bu Wati",
        "host_phone": "0812 1111 2222",
        "guests": "2",
        "guest_names": "Adik dan ipar dari Metro",
        "arrival": "2026-11-26",
        "departure": "",
    }


def _send(b: Browser, data: dict[str, str]) -> httpx.Response:
    page = b.get("/lapor/tamu")
    return b.post("/lapor/tamu", data={"csrf": b.csrf(page.text), **data})


def test_guest_report_reaches_the_console_list(browser: Browser, web: CloudHarness) -> None:
    r = _send(browser, _good(web))
    assert r.status_code == 303
    done = browser.get(r.headers["location"])
    assert "Laporan tamu diterima dan diteruskan ke Ketua RT." in done.text
    assert "Bu Wati" not in done.text
    op = Browser(web)
    try:
        _login(op)
        listing = op.get("/konsol/tamu").text
        assert "Bu Wati" in listing
        assert "Adik dan ipar dari Metro" in listing
    finally:
        op.close()
    assert web.db(lambda tx: tx.incidents.search(limit=5)) == []  # pages nobody


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kampung": "atlantis"}, "kampung", "Kampung tidak dikenal."),
        ({"rt": "tiga"}, "rt", "Isi nomor RT, contoh: 003."),
        ({"host_name": ""}, "host_name", "Isi nama tuan rumah."),
        ({"host_phone": "abc"}, "host_phone", "Nomor HP tidak valid; contoh: 0812 3456 7890."),
        ({"guests": "0"}, "guests", "Jumlah tamu 1 sampai 50."),
        ({"guest_names": "x" * 501}, "guest_names", "Nama tamu paling banyak 500 huruf."),
        ({"arrival": "kemarin"}, "arrival", "Tanggal tidak valid."),
        ({"departure": "2026-13-01"}, "departure", "Tanggal tidak valid."),
    ],
)
def test_guest_report_field_errors(
    browser: Browser, web: CloudHarness, change: dict[str, str], field: str, message: str
) -> None:
    r = _send(browser, _good(web) | change)
    assert r.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}</p>' in r.text


def test_guest_report_refusals_store_nothing(browser: Browser, web: CloudHarness) -> None:
    """The same gate as the incident form: CSRF, honeypot, then the per-browser limit."""
    browser.get("/lapor/tamu")
    forged = browser.post("/lapor/tamu", data=_good(web) | {"csrf": "forged"})
    assert forged.status_code == 403
    assert "Formulir kedaluwarsa" in forged.text
    assert _send(browser, _good(web) | {HONEYPOT: "http://spam.example"}).status_code == 400
    assert web.db(lambda tx: tx.web.guest_reports()) == []
    for _ in range(PER_BROWSER_PER_HOUR):  # refused posts are not counted
        assert _send(browser, _good(web)).status_code == 303
    r = _send(browser, _good(web))
    assert r.status_code == 429
    assert "Terlalu banyak laporan dari perangkat ini" in r.text
    assert len(web.db(lambda tx: tx.web.guest_reports())) == PER_BROWSER_PER_HOUR
