"""Lapor tamu 24 jam: a household reports overnight guests to its Ketua RT."""

from __future__ import annotations

import httpx
import pytest
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
