"""Residents' reports never sound sirens by themselves: 100 anonymous urgent reports, from
100 browsers through the form, make incidents and zero siren commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kentongan_cloud.store.db import Tx
from kentongan_testkit.cloudharness import CloudHarness

from .conftest import Browser

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Once, on SQLite: the intake's database code is covered on both by the other tests."""
    return f"sqlite+aiosqlite:///{tmp_path / 'kentongan.db'}"


def test_hundred_urgent_reports_make_no_siren_command(web: CloudHarness) -> None:
    kampung = sorted(web.runtime.directory.places)
    for i in range(100):
        b = Browser(web)
        try:
            page = b.get("/lapor")
            r = b.post(
                "/lapor",
                data={
                    "csrf": b.csrf(page.text),
                    "incident_type": "kekerasan",
                    "kampung": kampung[i % len(kampung)],
                    "description": f"tolong {i}",
                },
            )
            assert r.status_code == 303, r.text
            assert re.match(r"^/lapor/", r.headers["location"])
        finally:
            b.close()

    async def count(tx: Tx) -> tuple[int, int, int]:
        found = await tx.incidents.search(limit=500)
        cmds = 0
        for inc in found:
            cmds += len(await tx.commands.for_incident(inc.id))
        alarms = len(await tx.commands.area_alarms())
        return len(found), cmds, alarms

    incidents, commands, alarms = web.db(count)
    assert incidents >= 1
    assert all(not i.sirens_on for i in web.db(lambda tx: tx.incidents.search(limit=500)))
    assert (commands, alarms) == (0, 0)
    pending = web.db(lambda tx: tx.outbox.pending_counts())
    assert pending.get("command", 0) == 0
    assert pending.get("broadcast", 0) == 0
