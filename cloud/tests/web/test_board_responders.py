"""The board shows the responders' side of each incident: escalation step, who was paged on
which channel, and who acknowledged (here through the one-tap link), on both databases."""

from __future__ import annotations

import re

from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness

from .conftest import PASSWORD, Browser, ack_link_path, add_user, report_incident


def _board(b: Browser) -> str:
    return b.get("/konsol").text


def _row(board: str, incident: str) -> str:
    m = re.search(rf'<tr class="state-\w+" data-id="{incident}".*?</tr>', board, re.S)
    assert m is not None, f"incident {incident} is not on the board"
    return m.group(0)


def test_board_shows_who_was_paged_and_who_acknowledged(cloud: CloudFactory) -> None:
    h: CloudHarness = cloud.start(mqtt=False, sweeper=False, real_sinks=True)
    assert h.runtime.responders is not None
    add_user(h, "sari", "operator")
    b = Browser(h)
    try:
        login = b.get("/konsol/masuk")
        b.post(
            "/konsol/masuk",
            data={"username": "sari", "password": PASSWORD, "csrf": b.csrf(login.text)},
        )
        incident = report_incident(h)
        path = ack_link_path(h, incident)

        def escalating() -> str | None:
            row = _row(_board(b), incident)
            return row if "menunggu jawaban" in row else None

        row = h.wait_for(escalating, what="the escalation on the board")
        assert "tahap 1/3" in row
        assert "belum diverifikasi" in row
        paged = re.findall(r"<li[^>]*>([^<]+)</li>", row)
        assert paged, row
        assert all(re.search(r"\(.+\): .+ \d\d:\d\d$", p) for p in paged), paged

        tap = h.api("POST", path)
        assert tap.status_code == 200, tap.text
        who = re.search(r"<p>(.+?) \((.+?)\) menerima", tap.text)
        assert who is not None, tap.text
        row = _row(_board(b), incident)
        assert f"Diterima: {who.group(1)} ({who.group(2)}) lewat link" in row
        assert re.search(rf'class="answered">{re.escape(who.group(1))} ', row), row
    finally:
        b.close()
