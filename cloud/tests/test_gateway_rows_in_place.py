"""Every event rewrites its gateway's row (last seen, heartbeat deadline). On PostgreSQL
that rewrite must stay on the row's own page (a HOT update: no index entries, the old
version pruned as the page fills), or at 1,000 events/s the table and its indexes grow by
60,000 dead versions a minute between vacuums and the intake slows minute by minute. That
needs no index on a column the rewrite changes, and room on the page (fillfactor)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from kentongan_cloud.domain import fleet as fleet_rules
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.store.db import Database
from sqlalchemy import inspect

NOW = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def test_a_heartbeat_rewrites_the_gateway_row_in_place(
    db_url: str, generated_district: Directory
) -> None:
    async def go() -> tuple[list[list[str | None]], tuple[int, int] | None]:
        db = Database(db_url)
        try:
            await db.create_schema()
            ids = sorted(generated_district.sites)
            async with db.transaction() as tx:
                await tx.fleet.sync(generated_district, ids)
            async with db.engine.connect() as conn:
                indexed = await conn.run_sync(
                    lambda c: [ix["column_names"] for ix in inspect(c).get_indexes("gateways")]
                )
            async with db.transaction() as tx:
                health = await tx.fleet.load(ids)
                for h in health.values():
                    fleet_rules.seen(h, NOW, 2.5)
                await tx.fleet.save_many(list(health.values()))
                if db.dialect != "postgresql":
                    return indexed, None
                row: Any = (
                    await tx.conn.exec_driver_sql(
                        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                        "WHERE relname = 'gateways'"
                    )
                ).one()
                return indexed, (int(row.n_tup_upd), int(row.n_tup_hot_upd))
        finally:
            await db.close()

    indexed, updates = asyncio.run(go())
    changed = {"last_seen_at", "deadline_at", "online", "version"}
    assert not [cols for cols in indexed if changed & set(cols)]
    if updates is not None:
        # A few rows share a page with rows whose first version took the room; the rest, and
        # with the deadline indexed none at all, are rewritten in place.
        n = len(generated_district.sites)
        updated, in_place = updates
        assert updated == n
        assert in_place >= 0.9 * n, f"only {in_place} of {n} rows rewritten in place"
