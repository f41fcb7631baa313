"""The resident form over plain HTTP: server-side validation, photo re-encoding, rate limits,
honeypot, CSRF, headers and weight."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from kentongan_cloud.web import ratelimit
from kentongan_cloud.web.ratelimit import PER_BROWSER_PER_HOUR
from kentongan_cloud.web.report_form import HONEYPOT
from kentongan_cloud.web.security import CSP
from PIL import Image

from .conftest import Browser, jpeg_with_gps

GOOD = {"incident_type": "kebakaran", "description": "Rumah terbakar", "kampung": ""}


def _kampung(b: Browser) -> str:
    m = re.search(r'<option value="([a-z0-9_-]+)"', b.get("/lapor").text)
    assert m is not None
    return m.group(1)


def _submit(b: Browser, fields: dict[str, str], **kw: Any) -> Any:
    page = b.get("/lapor")
    data = {"csrf": b.csrf(page.text), **fields}
    return b.post("/lapor", data=data, **kw)


def _good(b: Browser) -> dict[str, str]:
    return GOOD | {"kampung": _kampung(b)}


def test_report_without_javascript_redirects_to_a_status_page_without_personal_data(
    browser: Browser,
) -> None:
    r = _submit(browser, _good(browser) | {"name": "Siti Aminah", "phone": "0812 3456 7890"})
    assert r.status_code == 303
    where = r.headers["location"]
    code = re.match(r"^/lapor/([A-Za-z0-9_-]+)\?lang=id$", where)
    assert code is not None
    # at least 80 random bits: token_urlsafe(16) gives 22 characters of 6 bits
    assert len(code.group(1)) * 6 >= 80 + 6
    status = browser.get(where)
    assert status.status_code == 200
    assert code.group(1) in status.text
    assert "Laporan diterima, menunggu petugas" in status.text
    assert "Siti" not in status.text
    assert "3456" not in status.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"incident_type": ""}, "incident_type", "Pilih jenis kejadian."),
        ({"incident_type": "alien"}, "incident_type", "Pilih jenis kejadian."),
        ({"description": "x" * 1001}, "description", "Keterangan paling banyak 1000 huruf."),
        ({"kampung": ""}, "kampung", "Pilih kampung atau izinkan lokasi HP."),
        ({"kampung": "atlantis"}, "kampung", "Kampung tidak dikenal."),
        ({"kampung": "", "lat": "95", "lon": "105"}, "kampung", "Lokasi HP tidak valid."),
        ({"name": "n" * 121}, "name", "Nama paling banyak 120 huruf."),
        ({"phone": "nomor saya"}, "phone", "Nomor HP tidak valid; contoh: 0812 3456 7890."),
    ],
)
def test_each_bad_field_gets_its_own_message_next_to_it(
    browser: Browser, change: dict[str, str], field: str, message: str
) -> None:
    r = _submit(browser, _good(browser) | change)
    assert r.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}</p>' in r.text
    assert r.text.count('class="error"') == 1


def test_messages_in_english_when_switched(browser: Browser) -> None:
    browser.get("/lapor?lang=en")
    r = _submit(browser, _good(browser) | {"phone": "abc"})
    assert "Not a valid phone number; for example: 0812 3456 7890." in r.text
    assert '<html lang="en">' in r.text


def test_position_from_the_phone_is_enough(browser: Browser) -> None:
    r = _submit(browser, GOOD | {"lat": "-4.8", "lon": "105.2", "accuracy": "12"})
    assert r.status_code == 303, r.text


def test_photo_is_reencoded_without_exif(browser: Browser, web: Any) -> None:
    original = jpeg_with_gps()
    assert b"KentonganPhone" in original
    r = _submit(browser, _good(browser), files={"photo": ("p.jpg", original, "image/jpeg")})
    assert r.status_code == 303, r.text
    code = r.headers["location"].split("/")[2].split("?")[0]
    stored = web.db(lambda tx: tx.web.photo(code))
    assert stored is not None
    ctype, data = stored
    assert ctype == "image/jpeg"
    assert b"KentonganPhone" not in data
    assert b"Exif" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert not img.getexif()
        assert img.size == (640, 480)


def test_oversized_photo_gets_a_message(browser: Browser) -> None:
    big = b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 10)
    r = _submit(browser, _good(browser), files={"photo": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 422
    assert '<p class="error" id="photo-error">Foto paling besar 5 MB.</p>' in r.text


def test_not_an_image_gets_a_message(browser: Browser) -> None:
    r = _submit(browser, _good(browser), files={"photo": ("x.jpg", b"<script>", "image/jpeg")})
    assert r.status_code == 422
    assert '<p class="error" id="photo-error">Foto tidak bisa dibaca.</p>' in r.text


def test_gif_is_refused_by_type(browser: Browser) -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "GIF")
    r = _submit(browser, _good(browser), files={"photo": ("a.gif", out.getvalue(), "image/gif")})
    assert '<p class="error" id="photo-error">Foto harus JPEG, PNG atau WebP.</p>' in r.text


def test_rate_limit_counts_per_browser_cookie(web: Any) -> None:
    first, second = Browser(web), Browser(web)
    try:
        for _ in range(PER_BROWSER_PER_HOUR):
            assert _submit(first, _good(first)).status_code == 303
        r = _submit(first, _good(first))
        assert r.status_code == 429
        assert "Terlalu banyak laporan dari perangkat ini" in r.text
        # the same address (same village carrier) with another browser is still served
        assert _submit(second, _good(second)).status_code == 303
    finally:
        first.close()
        second.close()


def test_honeypot_filled_creates_no_report(browser: Browser, web: Any) -> None:
    r = _submit(browser, _good(browser) | {HONEYPOT: "http://spam.example"})
    assert r.status_code == 400
    found = web.db(lambda tx: tx.incidents.search(limit=10))
    assert found == []


def test_csrf_refused_without_the_token_or_cookie(browser: Browser, web: Any) -> None:
    browser.get("/lapor")
    r = browser.post("/lapor", data=_good(browser) | {"csrf": "forged"})
    assert r.status_code == 403
    assert "Formulir kedaluwarsa" in r.text
    stranger = Browser(web)
    try:
        r = stranger.post("/lapor", data=_good(browser))
        assert r.status_code == 403
    finally:
        stranger.close()
    assert web.db(lambda tx: tx.incidents.search(limit=10)) == []


def test_security_headers_on_pages_and_assets(browser: Browser) -> None:
    cookie = browser.get("/lapor").headers.get("set-cookie", "")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    for path in ("/lapor", "/static/kentongan.css", "/konsol/masuk"):
        r = browser.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP
    assert "unsafe-inline" not in CSP


def test_form_and_its_assets_weigh_under_200_kb(browser: Browser) -> None:
    page = browser.get("/lapor").text
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert assets
    total = len(page.encode()) + sum(len(browser.get(a).content) for a in assets)
    print(f"report form weight: {total} bytes ({len(assets)} assets)")
    assert total < 200 * 1024


def test_cookies_are_secure_in_production_mode(cloud: Any) -> None:
    h = cloud.start(mqtt=False, outbox=False, sweeper=False, api={"cookie_secure": True})
    b = Browser(h)
    try:
        cookie = b.get("/lapor").headers["set-cookie"]
        assert "secure" in cookie.lower()
    finally:
        b.close()


def test_json_api_reports_have_the_address_limit(web: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "PER_ADDRESS_PER_HOUR", 3)
    kampung = sorted(web.runtime.directory.places)[0]
    body = {"incident_type": "kebakaran", "kampung": kampung}
    for _ in range(3):
        assert web.api("POST", "/api/v1/reports", json=body).status_code == 201
    r = web.api("POST", "/api/v1/reports", json=body)
    assert r.status_code == 429
    assert r.json() == {"detail": "too many reports; try later"}
