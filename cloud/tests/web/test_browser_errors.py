"""Real browser, the messages people get when something is wrong: a resident's photo that is
too big, and a guard's wrong PINs up to the lockout (kept by the server, not the phone)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kentongan_testkit.cloudharness import CloudHarness
from playwright.sync_api import Browser, FilePayload, expect

from .served import PHONE, enrolled_guard, operator_page, shot

pytestmark = pytest.mark.slow
TOO_BIG = 5 * 1024 * 1024 + 1


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'kentongan.db'}"


def test_an_oversized_photo_gets_its_message_next_to_the_field(
    site: tuple[CloudHarness, str], chrome: Browser
) -> None:
    h, base = site
    phone = chrome.new_context(viewport=PHONE, base_url=base, is_mobile=True).new_page()
    phone.goto("/lapor")
    phone.get_by_label("Banjir").check()
    phone.get_by_label("Kampung").select_option(sorted(h.runtime.directory.places)[0])
    photo: FilePayload = {
        "name": "banjir.jpg",
        "mimeType": "image/jpeg",
        "buffer": b"\xff\xd8" + b"0" * TOO_BIG,
    }
    phone.get_by_label("Foto (boleh kosong, maks. 5 MB)").set_input_files(photo)
    phone.get_by_role("button", name="Kirim laporan").click()
    expect(phone.locator("#photo-error")).to_have_text("Foto paling besar 5 MB.")
    expect(phone.locator("#photo")).to_have_attribute("aria-describedby", "photo-error")
    # what was typed is kept; the report was not sent
    expect(phone.get_by_label("Banjir")).to_be_checked()
    assert h.db(lambda tx: tx.incidents.search(limit=5)) == []
    shot(phone, "lapor-photo-too-big-phone")


def test_wrong_pins_then_the_lockout_on_the_guard_phone(
    site: tuple[CloudHarness, str], chrome: Browser
) -> None:
    h, base = site
    board = operator_page(chrome, base)
    guard = enrolled_guard(chrome, board, h, "2468")
    for left in (4, 3, 2, 1):
        guard.get_by_label("PIN").fill("1357")
        guard.get_by_role("button", name="Buka").click()
        expect(guard.locator("#pin-error")).to_have_text(f"PIN salah. Sisa percobaan: {left}.")
    guard.get_by_label("PIN").fill("1357")
    guard.get_by_role("button", name="Buka").click()
    locked = "Terlalu banyak PIN salah: HP ini terkunci. Minta operator mendaftarkan ulang."
    expect(guard.locator("#guard-message")).to_have_text(locked)
    shot(guard, "guard-locked-phone")
    # the right PIN no longer helps, and a fresh visit stays locked
    guard.goto(f"{base}/jaga")
    expect(guard.locator("#guard-message")).to_have_text(locked)
    expect(guard.get_by_label("PIN")).to_have_count(0)
