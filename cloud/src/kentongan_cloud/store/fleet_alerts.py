"""Technicians' alerts already handled, one row per outbox key and person: a repeated
delivery of the same outbox row (after a crash or a partial failure) tells nobody twice.
Created with the responders' tables on the shared engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncEngine

from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.bulk import insert_many, one_of

# person_id of the row that records "no technician covers this post".
NOBODY = "-"

fleet_alert_sends = Table(
    "fleet_alert_sends",
    metadata,
    Column("key", String(300), nullable=False),
    Column("person_id", String(32), nullable=False),
    Column("gateway_id", String(64), nullable=False, index=True),
    # sent: a channel accepted it; nobody: no technician covers the post; unconfigured: none
    # of the person's channels has a provider
    Column("outcome", String(16), nullable=False),
    Column("channel_type", String(16), nullable=True),
    Column("provider", String(64), nullable=True),
    Column("address", String(200), nullable=True),
    Column("detail", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("key", "person_id"),
)


class FleetAlertLog:
    """Reads and writes `fleet_alert_sends`; each call is its own short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def done_for(self, keys: Sequence[str]) -> dict[str, set[str]]:
        """Per outbox key, the people (or NOBODY) it was already handled for; a key handled
        for nobody yet is absent."""
        if not keys:
            return {}
        c = fleet_alert_sends.c
        done: dict[str, set[str]] = {}
        async with self.engine.connect() as conn:
            q = select(c.key, c.person_id).where(one_of(conn, c.key, sorted(set(keys))))
            for key, person_id in await conn.execute(q):
                done.setdefault(key, set()).add(person_id)
        return done

    async def record(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert each row once, all in one transaction; a row that a racing worker wrote
        first is left as it is."""
        if not rows:
            return
        async with self.engine.begin() as conn:
            await insert_many(conn, fleet_alert_sends, rows, skip_conflicts_on=("key", "person_id"))

    async def rows(self, gateway_id: str | None = None) -> Sequence[dict[str, Any]]:
        """For operators and tests: what was handled, oldest first."""
        q = select(fleet_alert_sends).order_by(fleet_alert_sends.c.at_ms)
        if gateway_id is not None:
            q = q.where(fleet_alert_sends.c.gateway_id == gateway_id)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(q)]
