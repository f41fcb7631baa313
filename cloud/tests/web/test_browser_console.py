"""Real browser on the operator console: a responder's one-tap acknowledgement appears on the
live board, the map follows the board's event stream, a handover note keeps the shift, and
the board is usable from the keyboard alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness
from playwright.sync_api import Browser, Page, expect

from .conftest import ack_link_path, report_incident, served_cloud
from .served import DESKTOP, PHONE, operator_page, shot

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'kentongan.db'}"


@pytest.fixture
def paging_site(cloud: CloudFactory) -> Iterator[tuple[CloudHarness, str]]:
    """The app with its real responders part: notices are paged, links acknowledge."""
    with served_cloud(cloud, real_sinks=True) as served:
        yield served


def _no_reload_marker(page: Page) -> None:
    """A flag that a reload would wipe: proves the board changed in place."""
    page.evaluate("window.stillHere = true")


def _still_here(page: Page) -> bool:
    return bool(page.evaluate("window.stillHere === true"))


def test_responder_ack_by_link_appears_live_on_the_board(
    paging_site: tuple[CloudHarness, str], chrome: Browser
) -> None:
    h, base = paging_site
    board = operator_page(chrome, base)
    _no_reload_marker(board)
    incident = report_incident(h)
    row = board.locator(f'#board-rows tr[data-id="{incident}"]')
    expect(row.locator(".esc")).to_contain_text("menunggu jawaban · tahap 1/3")
    expect(row.locator(".confirm")).to_have_text("laporan warga, belum diverifikasi")
    expect(row.locator(".paged li").first).to_contain_text("(")
    shot(board, "board-escalation-desktop")

    responder = chrome.new_context(viewport=PHONE, base_url=base, is_mobile=True).new_page()
    responder.goto(ack_link_path(h, incident))
    shot(responder, "responder-link-phone")
    responder.get_by_role("button", name="Terima").click()
    expect(responder.locator("h1")).to_have_text("Terima kasih")
    shot(responder, "responder-acked-phone")
    who = responder.locator("p").first.inner_text().split(" menerima")[0]

    expect(row.locator(".acked li")).to_contain_text(f"Diterima: {who} lewat link")
    expect(row.locator(".paged li.answered")).to_have_count(1)
    assert _still_here(board), "the board was reloaded"
    shot(board, "board-acked-desktop")
    board.set_viewport_size(PHONE)
    shot(board, "board-acked-phone")


def test_map_follows_the_event_stream_without_polling(
    site: tuple[CloudHarness, str], chrome: Browser
) -> None:
    h, base = site
    board = operator_page(chrome, base)
    requests: list[str] = []
    board.on("request", lambda r: requests.append(r.url))
    board.goto("/konsol/peta")
    board.wait_for_selector("#map[data-incidents='0']")
    _no_reload_marker(board)
    report_incident(h)
    board.wait_for_selector("#map[data-incidents='1']")
    assert _still_here(board)
    konsol = [u for u in requests if "/konsol/" in u and "/konsol/peta" not in u.split("?")[0]]
    assert konsol == [f"{base}/konsol/stream?peta=1&lang=id"], konsol
    shot(board, "map-live-desktop")
    board.set_viewport_size(PHONE)
    shot(board, "map-phone")


def test_a_handover_note_keeps_the_shift_on(
    site: tuple[CloudHarness, str], chrome: Browser
) -> None:
    _, base = site
    board = operator_page(chrome, base)
    board.get_by_role("button", name="Mulai shift").click()
    expect(board.locator("#shift-state")).to_be_visible()
    board.get_by_role("link", name="Serah terima").click()
    board.get_by_label("Catatan serah terima").fill("Sirene pos 3 lemah, baterai diganti besok")
    board.get_by_role("button", name="Simpan").click()
    expect(board.locator("main table")).to_contain_text("Sirene pos 3 lemah")
    board.set_viewport_size(PHONE)
    shot(board, "handover-phone")
    board.set_viewport_size(DESKTOP)
    board.get_by_role("link", name="Papan kejadian").click()
    board.wait_for_selector("body[data-live=yes]")
    expect(board.locator("#shift-state")).to_be_visible()
    expect(board.get_by_role("button", name="Mulai shift")).to_be_hidden()


def test_the_board_from_the_keyboard(site: tuple[CloudHarness, str], chrome: Browser) -> None:
    h, base = site
    first, second = report_incident(h, "kebakaran"), report_incident(h, "banjir")
    board = operator_page(chrome, base)
    expect(board.locator("#board-rows tr[data-id]")).to_have_count(2)
    order = board.locator("#board-rows tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )
    assert set(order) == {first, second}

    board.keyboard.press("?")
    expect(board.locator("#keys")).to_be_visible()
    expect(board.locator("#keys")).to_contain_text("kejadian berikutnya")
    shot(board, "board-keys-desktop")
    board.keyboard.press("Escape")
    expect(board.locator("#keys")).to_be_hidden()

    selected = board.locator("#board-rows tr.selected")
    board.keyboard.press("j")
    expect(selected).to_have_attribute("data-id", order[0])
    board.keyboard.press("j")
    expect(selected).to_have_attribute("data-id", order[1])
    assert board.evaluate("document.activeElement.dataset.id") == order[1]
    board.keyboard.press("k")
    expect(selected).to_have_attribute("data-id", order[0])
    board.keyboard.press("a")  # a resident's report: "a" verifies it
    row = board.locator(f'#board-rows tr[data-id="{order[0]}"]')
    expect(row.locator(".state")).to_have_text("diterima")
    # the selection survives the page coming back after the step
    expect(selected).to_have_attribute("data-id", order[0])
    board.keyboard.press("j")
    board.keyboard.press("Enter")
    expect(board).to_have_url(f"{base}/konsol/insiden/{order[1]}")

    # every action is reachable with Tab alone, and the focused one is outlined
    board.goto("/konsol")
    board.wait_for_selector("body[data-live=yes]")
    reached: dict[str, str] = {}
    for _ in range(40):
        board.keyboard.press("Tab")
        text, outline = board.evaluate(
            "[document.activeElement.textContent.trim(),"
            " getComputedStyle(document.activeElement).outlineStyle]"
        )
        reached[text] = outline
    for name in ("Peta", "Mulai shift", "Verifikasi", "Tolak", "Kirim petugas", "Selesai"):
        assert reached.get(name) == "solid", (name, reached)
    assert any(r.startswith("? ") for r in reached), reached
