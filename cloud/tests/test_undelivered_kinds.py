"""A side effect nobody in the deployment delivers is not written: without InfluxDB every
event's point, without Grafana every annotation, without responders every page would
wait in the outbox forever, a row per event (86 million a day at 1,000 events/s), and
retention only purges delivered rows. Siren commands are always written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.effects import Effects
from kentongan_cloud.fanout import Fanout
from kentongan_cloud.records import OUTBOX_KINDS, OutboxItem
from kentongan_cloud.settings import Settings
from kentongan_cloud.store.db import Database
from kentongan_cloud.store.outbox import outbox
from kentongan_cloud.wiring import undelivered
from sqlalchemy import func, select

NOW = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def test_a_deployment_without_sinks_writes_only_what_someone_delivers(
    db_url: str, generated_district: Directory
) -> None:
    bare = Settings().model_copy(update={"responders": None})  # no responders configured
    skip = undelivered(bare)
    assert skip == {"notification", "point", "annotation", "fleet_alert"}

    async def go() -> dict[str, int]:
        db = Database(db_url)
        try:
            await db.create_schema()
            effects = Effects(generated_district, Fanout(generated_district, 60), undelivered=skip)
            effects.outbox = [OutboxItem(kind, f"{kind}:1", "{}") for kind in OUTBOX_KINDS]
            async with db.transaction() as tx:
                await effects.flush(tx, NOW)
                got = await tx.conn.execute(
                    select(outbox.c.kind, func.count()).group_by(outbox.c.kind)
                )
                return {str(kind): int(n) for kind, n in got}
        finally:
            await db.close()

    assert asyncio.run(go()) == {"command": 1, "broadcast": 1}


def test_each_configured_sink_keeps_its_kind() -> None:
    full = Settings.model_validate(
        {
            "mode": "local",
            "influx": {"url": "http://127.0.0.1:8086"},
            "grafana": {"url": "http://127.0.0.1:3000"},
        }
    )
    assert full.responders is not None  # local mode: responders on by default
    assert undelivered(full) == frozenset()
    only_points = full.model_copy(update={"responders": None, "grafana": Settings().grafana})
    assert undelivered(only_points) == {"notification", "annotation", "fleet_alert"}
