"""Fleet alarms of a batch are written in bulk, and keep their history: an alarm raised and
cleared within one batch (tamper opened and closed) is one closed row, a repeat of an open
alarm adds nothing, and a clear then a raise leaves the old row closed and a new one open;
technicians hear of an alarm again only an hour after the last alert."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kentongan_cloud.domain.fleet import FleetChange
from kentongan_cloud.domain.sites import build_directory
from kentongan_cloud.effects import Effects
from kentongan_cloud.fanout import Fanout
from kentongan_cloud.store.db import Database
from kentongan_protocol.provisioning.tree import load_tree

T0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
A, B = "gs-komering-putih-01", "tb-poncowati-01"


def raised(gid: str, alarm: str, at: datetime) -> FleetChange:
    return FleetChange(gid, "alarm_raised", at, alarm, alarm)  # type: ignore[arg-type]


def cleared(gid: str, alarm: str, at: datetime) -> FleetChange:
    return FleetChange(gid, "alarm_cleared", at, alarm)  # type: ignore[arg-type]


def test_a_batch_of_alarm_changes_keeps_the_history(db_url: str, config_tree: Path) -> None:
    directory = build_directory(load_tree(config_tree))

    async def go() -> list[tuple[str, str, bool]]:
        db = Database(db_url)
        try:
            await db.create_schema()
            async with db.transaction() as tx:  # an earlier batch: B's battery is low
                eff = Effects(directory, Fanout(directory, 60))
                await eff.fleet_changes(tx, [raised(B, "battery_low", T0)])
            t1 = T0 + timedelta(minutes=5)
            batch = [
                raised(A, "tamper", t1),
                raised(A, "tamper", t1),  # the same alarm again: nothing more
                cleared(A, "tamper", t1),
                raised(A, "mains_lost", t1),
                cleared(B, "battery_low", t1),
                raised(B, "battery_low", t1),  # low again after the clear: a new row
            ]
            async with db.transaction() as tx:
                eff = Effects(directory, Fanout(directory, 60))
                await eff.fleet_changes(tx, batch)
                alerts = sorted(i.key.split(":")[2] for i in eff.outbox)
            # B's battery alerted 5 minutes ago, within the re-alert hour: no second alert;
            # A's tamper raised twice in the batch alerts once.
            assert alerts == ["mains_lost", "tamper"]
            async with db.transaction() as tx:
                rows = await tx.fleet.alarms(open_only=False)
            return sorted((r.gateway_id, r.kind, r.cleared_at is None) for r in rows)
        finally:
            await db.close()

    assert asyncio.run(go()) == [
        (A, "mains_lost", True),
        (A, "tamper", False),
        (B, "battery_low", False),
        (B, "battery_low", True),
    ]
