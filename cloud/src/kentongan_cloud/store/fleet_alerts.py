"""Technicians' alerts already handled, one row per outbox key and person: a repeated
delivery of the same outbox row (after a crash or a partial failure) tells nobody twice.
Created with the responders' tables on the shared engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from kentongan_cloud.store.base import metadata

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

    async def done_for(self, key: str) -> set[str]:
        """The people (or NOBODY) this outbox key was already handled for."""
        q = select(fleet_alert_sends.c.person_id).where(fleet_alert_sends.c.key == key)
        async with self.engine.connect() as conn:
            return set((await conn.execute(q)).scalars())

    async def record(self, values: dict[str, Any]) -> None:
        """Insert once; a second worker that raced this one leaves the first row."""
        async with self.engine.begin() as conn:
            pg = conn.dialect.name == "postgresql"
            ins = postgresql.insert(fleet_alert_sends) if pg else sqlite.insert(fleet_alert_sends)
            await conn.execute(ins.values(**values).on_conflict_do_nothing())

    async def rows(self, gateway_id: str | None = None) -> Sequence[dict[str, Any]]:
        """For operators and tests: what was handled, oldest first."""
        q = select(fleet_alert_sends).order_by(fleet_alert_sends.c.at_ms)
        if gateway_id is not None:
            q = q.where(fleet_alert_sends.c.gateway_id == gateway_id)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(q)]
