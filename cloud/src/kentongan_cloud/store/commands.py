"""Commands sent to gateways (siren on/off, broadcasts), their acks, and operators' area alarms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.records import AreaAlarmRecord, CommandAckRecord, CommandRecord
from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.bulk import execute_many, insert_many, one_of, update_many
from kentongan_cloud.store.types import UtcDateTime, row_of

commands = Table(
    "commands",
    metadata,
    Column("command_id", String(36), primary_key=True),
    Column("target", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("alarm_id", String(36), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("incident_id", String(36), index=True),
    Column("outcome", String(16), nullable=False),
    Column("sent_at", UtcDateTime),
)

command_acks = Table(
    "command_acks",
    metadata,
    Column("command_id", String(36), primary_key=True),
    Column("gateway_id", String(32), primary_key=True),
    Column("result", String(16), nullable=False),
    Column("detail", Text),
    Column("at", UtcDateTime, nullable=False),
)

area_alarms = Table(
    "area_alarms",
    metadata,
    Column("alarm_id", String(36), primary_key=True),
    Column("action", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("pattern", String(32), nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("area_json", Text, nullable=False),
    Column("started_by", String(64), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("stopped_by", String(64)),
    Column("stopped_at", UtcDateTime),
    Index("ix_area_alarms_started_at", "started_at"),
)

_MARK = (
    update(commands)
    .where(commands.c.command_id == bindparam("b_id"))
    .values(outcome=bindparam("outcome"), sent_at=bindparam("sent_at"))
)


class CommandRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, records: Sequence[CommandRecord]) -> None:
        if records:
            await insert_many(self.conn, commands, [row_of(r) for r in records])

    async def mark(self, outcomes: Sequence[tuple[str, str]], now: datetime) -> None:
        """Record how each `(command_id, outcome)` went, in one statement: a confirmation
        sends dozens of commands, and a statement each held the write lock that long."""
        if not outcomes:
            return
        rows = [
            {"b_id": cid, "outcome": outcome, "sent_at": now if outcome == "sent" else None}
            for cid, outcome in outcomes
        ]
        if self.conn.dialect.name == "postgresql":
            await update_many(self.conn, commands, rows, match={"b_id": "command_id"})
        else:
            await execute_many(self.conn, _MARK, rows)

    async def get_many(self, command_ids: Sequence[str]) -> dict[str, CommandRecord]:
        if not command_ids:
            return {}
        rows = await self.conn.execute(
            select(commands).where(
                one_of(self.conn, commands.c.command_id, sorted(set(command_ids)))
            )
        )
        return {r.command_id: CommandRecord(**dict(r._mapping)) for r in rows}

    async def record_acks(self, acks: Sequence[CommandAckRecord]) -> list[CommandAckRecord]:
        """Keep the first ack of each gateway for each command (acks may be resent); returns
        the ones that were the first, in one statement for the batch."""
        if not acks:
            return []
        unique = {(a.command_id, a.gateway_id): a for a in reversed(acks)}
        stmt: Any
        if self.conn.dialect.name == "postgresql":
            stmt = postgresql.insert(command_acks).on_conflict_do_nothing()
        else:
            stmt = sqlite.insert(command_acks).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports no rowcount for this statement.
        res = await self.conn.execute(
            stmt.returning(command_acks.c.command_id, command_acks.c.gateway_id),
            [row_of(a) for a in unique.values()],
        )
        return [unique[(r[0], r[1])] for r in res]

    async def for_alarm(self, alarm_id: str) -> list[CommandRecord]:
        rows = await self.conn.execute(
            select(commands)
            .where(commands.c.alarm_id == alarm_id)
            .order_by(commands.c.revision, commands.c.target)
        )
        return [CommandRecord(**dict(r._mapping)) for r in rows]

    async def for_incident(self, incident_id: str) -> list[CommandRecord]:
        rows = await self.conn.execute(
            select(commands)
            .where(commands.c.incident_id == incident_id)
            .order_by(commands.c.revision, commands.c.target)
        )
        return [CommandRecord(**dict(r._mapping)) for r in rows]

    async def acks_for(self, command_ids: Sequence[str]) -> list[CommandAckRecord]:
        if not command_ids:
            return []
        rows = await self.conn.execute(
            select(command_acks)
            .where(command_acks.c.command_id.in_(command_ids))
            .order_by(command_acks.c.at)
        )
        return [CommandAckRecord(**dict(r._mapping)) for r in rows]

    async def add_area_alarm(self, rec: AreaAlarmRecord) -> None:
        await self.conn.execute(insert(area_alarms).values(**row_of(rec)))

    async def area_alarm(self, alarm_id: str) -> AreaAlarmRecord | None:
        row = (
            await self.conn.execute(select(area_alarms).where(area_alarms.c.alarm_id == alarm_id))
        ).first()
        return None if row is None else AreaAlarmRecord(**dict(row._mapping))

    async def update_area_alarm(
        self, alarm_id: str, *, action: str, revision: int, by: str, at: datetime, old_rev: int
    ) -> bool:
        res = await self.conn.execute(
            update(area_alarms)
            .where(area_alarms.c.alarm_id == alarm_id, area_alarms.c.revision == old_rev)
            .values(action=action, revision=revision, stopped_by=by, stopped_at=at)
        )
        return bool(res.rowcount == 1)

    async def area_alarms(self, limit: int = 50) -> list[AreaAlarmRecord]:
        rows = await self.conn.execute(
            select(area_alarms).order_by(area_alarms.c.started_at.desc()).limit(limit)
        )
        return [AreaAlarmRecord(**dict(r._mapping)) for r in rows]
