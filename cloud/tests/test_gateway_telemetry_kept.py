"""A gateway's last telemetry is written only by the transaction that took it: a health load
does not read it back (nothing decides on it, and decoding it for every event's gateway cost
the intake), so every other save must leave it as it was."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kentongan_cloud.domain import fleet as fleet_rules
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.errors import StaleWriteError
from kentongan_cloud.store.db import Database
from kentongan_protocol.payloads import Telemetry

NOW = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def beat(session: str, temp: float) -> Telemetry:
    return Telemetry(
        session_id=session,
        sent_at=NOW,
        clock_synced=True,
        uptime_s=60,
        cpu_temp_c=temp,
        power="mains",
        outbox_depth=0,
        shed_count=0,
    )


def test_telemetry_is_kept_by_saves_that_took_none(
    db_url: str, generated_district: Directory
) -> None:
    ids = sorted(generated_district.sites)[:3]
    later = NOW + timedelta(seconds=30)

    async def go() -> tuple[list[Any], dict[str, Any]]:
        db = Database(db_url)
        try:
            await db.create_schema()
            async with db.transaction() as tx:
                await tx.fleet.sync(generated_district, sorted(generated_district.sites))
            async with db.transaction() as tx:  # telemetry from two posts, an event from one
                health = await tx.fleet.load(ids)
                for gid, temp in zip(ids[:2], (51.5, 62.0), strict=True):
                    fleet_rules.on_telemetry(health[gid], beat("5" * 32, temp), NOW)
                fleet_rules.seen(health[ids[2]], NOW, 2.5)
                await tx.fleet.save_many([health[g] for g in ids])
            async with db.transaction() as tx:  # events only: no telemetry in this one
                health = await tx.fleet.load(ids)
                loaded = [health[g].last_telemetry for g in ids]
                for h in health.values():
                    fleet_rules.seen(h, later, 2.5)
                await tx.fleet.save_many(list(health.values()))
            async with db.transaction() as tx:
                rows = {g: (await tx.fleet.rows(g))[0] for g in ids}
            return loaded, rows
        finally:
            await db.close()

    loaded, rows = asyncio.run(go())
    assert loaded == [None, None, None]
    for gid, temp in zip(ids[:2], (51.5, 62.0), strict=True):
        assert rows[gid]["last_telemetry"]["cpu_temp_c"] == temp
        assert rows[gid]["last_telemetry_at"] == NOW
        assert rows[gid]["last_seen_at"] == later
    assert rows[ids[2]]["last_telemetry"] is None
    assert [rows[g]["version"] for g in ids] == [2, 2, 2]


def test_a_stale_telemetry_write_is_refused(db_url: str, generated_district: Directory) -> None:
    gid = sorted(generated_district.sites)[0]

    async def go() -> None:
        db = Database(db_url)
        try:
            await db.create_schema()
            async with db.transaction() as tx:
                await tx.fleet.sync(generated_district, sorted(generated_district.sites))
            async with db.transaction() as tx:
                g = (await tx.fleet.load([gid]))[gid]
            async with db.transaction() as tx:  # another worker saves first
                other = (await tx.fleet.load([gid]))[gid]
                fleet_rules.seen(other, NOW, 2.5)
                await tx.fleet.save_many([other])
            async with db.transaction() as tx:
                fleet_rules.on_telemetry(g, beat("5" * 32, 40.0), NOW)
                await tx.fleet.save_many([g])
        finally:
            await db.close()

    with pytest.raises(StaleWriteError):
        asyncio.run(go())
