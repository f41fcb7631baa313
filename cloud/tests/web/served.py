"""Debian's chromium driven by Playwright, in front of the real app under uvicorn (`serve`, from
the testkit)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kentongan_testkit.cloudharness import CloudHarness
from kentongan_testkit.served import serve
from playwright.sync_api import Browser, Geolocation, Page, ViewportSize, expect, sync_playwright

__all__ = ["DESKTOP", "PHONE", "chromium", "serve", "shot"]
PASSWORD = "kentongan-rahasia"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
GEO: Geolocation = {"latitude": -4.95, "longitude": 105.25, "accuracy": 8}


@contextmanager
def chromium() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def shot(page: object, name: str) -> Path:
    """Save a screenshot under test-artifacts/web/ (the closing note lists them)."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def operator_page(chrome: Browser, base: str, name: str = "sari") -> Page:
    """Log in as `name` (an operator added by the test) and wait for the live board."""
    ctx = chrome.new_context(viewport=DESKTOP, base_url=base)
    page = ctx.new_page()
    page.goto("/konsol")
    expect(page).to_have_url(f"{base}/konsol/masuk")
    shot(page, "login-desktop")
    page.get_by_label("Nama pengguna").fill(name)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.locator("h1")).to_have_text("Papan kejadian")
    page.wait_for_selector("body[data-live=yes]")
    return page


def enrolled_guard(chrome: Browser, board: Page, h: CloudHarness, pin: str) -> Page:
    """The operator shows a guard's QR code; the guard's phone (position granted) opens the
    link and sets `pin`. Returns the phone's page, at the PIN prompt."""
    enrol = board.context.new_page()
    enrol.goto("/konsol/penjaga")
    enrol.get_by_label("Pos").select_option(sorted(h.runtime.directory.sites)[0])
    enrol.get_by_label("Nama penjaga").fill("Pak Joko")
    enrol.get_by_role("button", name="Buat kode QR").click()
    expect(enrol.locator(".qr svg")).to_be_visible()
    shot(enrol, "guards-qr-desktop")
    link = enrol.locator("#enrol-link").get_attribute("href")
    assert link is not None
    enrol.close()
    guard_ctx = chrome.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, geolocation=GEO, permissions=["geolocation"]
    )
    guard = guard_ctx.new_page()
    guard.goto(link)
    shot(guard, "guard-enrol-phone")
    guard.get_by_label("Buat PIN (4-8 angka)").fill(pin)
    guard.get_by_label("Ulangi PIN").fill(pin)
    guard.get_by_role("button", name="Simpan").click()
    return guard
