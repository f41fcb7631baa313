"""The console's fleet view shows a post in maintenance, and until when, as its heartbeat
said."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from kentongan_cloud.domain.fleet import on_telemetry
from kentongan_cloud.store.db import Tx
from kentongan_cloud.web.render import wib
from kentongan_protocol.payloads import Telemetry
from kentongan_testkit.cloudharness import CloudHarness

from .test_console_pages import _login

POST = "tb-poncowati-01"


def test_fleet_view_shows_maintenance(browser: Any, web: CloudHarness) -> None:
    now = web.runtime.clock.now()
    beat = Telemetry(
        session_id=uuid.uuid4().hex,
        sent_at=now,
        clock_synced=True,
        uptime_s=60,
        outbox_depth=0,
        shed_count=0,
        maintenance=True,
        maintenance_left_s=1800,
    )

    async def heard(tx: Tx) -> None:
        g = (await tx.fleet.load([POST]))[POST]
        on_telemetry(g, beat, now)  # what the intake does with a heartbeat
        await tx.fleet.save(g)

    web.db(heard)
    _login(browser, "joko", "technician")
    page = browser.get("/konsol/armada").text
    stored_at = web.db(lambda tx: tx.fleet.rows(POST))[0]["last_telemetry_at"]
    assert f"perawatan s/d {wib(stored_at + timedelta(seconds=1800))}" in page
    assert page.count('class="maintenance"') == 1  # the other posts are not in maintenance
    english = browser.get("/konsol/armada?lang=en").text
    assert "maintenance until" in english
