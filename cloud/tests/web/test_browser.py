"""Real browser: Debian's chromium through Playwright against the app served by uvicorn.

A resident reports with a photo from a phone, a guard raises a panic from an enrolled phone
with its position, and the operator sees both appear on the live board without reloading."""

from __future__ import annotations

from pathlib import Path

import pytest
from kentongan_testkit.cloudharness import CloudHarness
from playwright.sync_api import Browser, expect

from .conftest import jpeg_with_gps
from .served import DESKTOP, PHONE, enrolled_guard, operator_page, shot

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Browser tests run once, on SQLite; the database layer is covered by the HTTP tests."""
    return f"sqlite+aiosqlite:///{tmp_path / 'kentongan.db'}"


def test_resident_report_with_photo_appears_live_and_is_verified(
    site: tuple[CloudHarness, str], chrome: Browser, tmp_path: Path
) -> None:
    h, base = site
    board = operator_page(chrome, base)
    board.get_by_role("button", name="Mulai shift").click()
    expect(board.locator("#shift-state")).to_be_visible()
    shot(board, "board-empty-desktop")

    phone = chrome.new_context(viewport=PHONE, base_url=base, is_mobile=True).new_page()
    phone.goto("/lapor")
    shot(phone, "lapor-phone")
    photo = tmp_path / "foto.jpg"
    photo.write_bytes(jpeg_with_gps())
    phone.get_by_label("Kebakaran").check()
    phone.get_by_label("Keterangan singkat").fill("Asap tebal dari gudang padi")
    kampung = sorted(h.runtime.directory.places)[0]
    phone.get_by_label("Kampung").select_option(kampung)
    phone.get_by_label("Foto (boleh kosong, maks. 5 MB)").set_input_files(str(photo))
    phone.get_by_label("Nomor HP (boleh kosong)").fill("nomor saya")
    phone.get_by_role("button", name="Kirim laporan").click()
    expect(phone.locator("#phone-error")).to_have_text(
        "Nomor HP tidak valid; contoh: 0812 3456 7890."
    )
    shot(phone, "lapor-error-phone")
    phone.get_by_label("Nomor HP (boleh kosong)").fill("0812 3456 7890")
    phone.get_by_label("Foto (boleh kosong, maks. 5 MB)").set_input_files(str(photo))
    phone.get_by_role("button", name="Kirim laporan").click()
    expect(phone.locator("h1")).to_have_text("Status laporan")
    expect(phone.locator(".steps [aria-current=step]")).to_have_text(
        "Laporan diterima, menunggu petugas"
    )
    shot(phone, "status-phone")
    code = phone.locator("code.code").inner_text()
    assert h.db(lambda tx: tx.web.photo(code)) is not None

    # the board shows it without a reload, with the alert of the shift
    row = board.locator("#board-rows tr", has_text="belum diverifikasi")
    expect(row).to_have_count(1)
    board.wait_for_function("Number(document.body.dataset.alerts || 0) >= 1")
    shot(board, "board-report-desktop")
    row.get_by_role("button", name="Verifikasi").click()
    expect(board.locator("#board-rows tr .state")).to_have_text("diterima")
    phone.reload()
    expect(phone.locator(".steps [aria-current=step]")).to_have_text("Dilihat petugas")

    board.set_viewport_size(PHONE)
    shot(board, "board-phone")
    board.set_viewport_size(DESKTOP)
    for path, name in (
        ("/konsol/peta", "map"),
        ("/konsol/armada", "fleet"),
        ("/konsol/rekap", "recap"),
        ("/konsol/shift", "handover"),
    ):
        board.goto(path)
        if name == "map":
            board.wait_for_selector("#map[data-markers]")
        shot(board, f"{name}-desktop")


def test_guard_enrols_unlocks_and_panic_appears_live_with_position(
    site: tuple[CloudHarness, str], chrome: Browser
) -> None:
    h, base = site
    board = operator_page(chrome, base)
    guard = enrolled_guard(chrome, board, h, "2468")
    guard.get_by_label("PIN").fill("1111")
    guard.get_by_role("button", name="Buka").click()
    expect(guard.locator("#pin-error")).to_have_text("PIN salah. Sisa percobaan: 4.")
    shot(guard, "guard-pin-phone")
    guard.get_by_label("PIN").fill("2468")
    guard.get_by_role("button", name="Buka").click()
    guard.wait_for_selector("body[data-position=yes]")
    shot(guard, "guard-panic-phone")

    # a short press sends nothing; a hold sends at once
    button = guard.locator("#panic")
    button.hover()
    guard.mouse.down()
    guard.mouse.up()
    expect(guard.locator("#panic-state")).to_have_text("")
    guard.mouse.down()
    expect(guard.locator("#panic-state")).to_contain_text("Terkirim ke pusat komando")
    guard.mouse.up()
    shot(guard, "guard-sent-phone")
    incident = guard.evaluate("document.body.dataset.incident")
    assert incident

    row = board.locator(f'#board-rows tr[data-id="{incident}"]')
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Tanggapi").click()
    expect(row.locator(".state")).to_have_text("diterima")
    board.goto(f"/konsol/insiden/{incident}")
    expect(board.locator("main")).to_contain_text("-4.95, 105.25")
    expect(board.locator("main")).to_contain_text("operator:sari")
    shot(board, "incident-desktop")
