"""Responders' tables and queries: escalation timers, pages, deliveries, the delivery log,
acknowledgements, provider rate limits and drills. Times are epoch milliseconds (portable
arithmetic on SQLite and PostgreSQL). Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL and
compare-and-set updates everywhere, so two workers never take the same row."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.fleet_alerts import fleet_alert_sends

_ID = 64
notices = Table(
    "responder_notices",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("incident_id", String(_ID), nullable=False, index=True),
    Column("reason", String(20), nullable=False),
    Column("received_ms", BigInteger, nullable=False),
)
incidents = Table(
    "responder_incidents",
    metadata,
    Column("incident_id", String(_ID), primary_key=True),
    Column("district", String(32), nullable=False),
    # open: waiting for someone; done: all answered or closed; unanswered: ladders used up
    Column("status", String(16), nullable=False),
    Column("next_due_ms", BigInteger, nullable=True, index=True),
    Column("version", Integer, nullable=False),
    Column("notice_json", Text, nullable=False),
    Column("state_json", Text, nullable=False),
    Column("drill_id", String(32), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
)
pages = Table(
    "responder_pages",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("incident_id", String(_ID), nullable=False, index=True),
    Column("person_id", String(32), nullable=False, index=True),
    Column("agency_id", String(32), nullable=False),
    Column("reply_code", String(8), nullable=False, unique=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("acked_ms", BigInteger, nullable=True),
    Column("ack_channel", String(16), nullable=True),
    Column("ack_device", String(64), nullable=True),
    UniqueConstraint("incident_id", "person_id"),
)
deliveries = Table(
    "responder_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False, unique=True),
    Column("incident_id", String(_ID), nullable=False, index=True),
    Column("page_id", String(16), nullable=False),
    Column("person_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("content_json", Text, nullable=False),
    Column("channels_json", Text, nullable=False),
    Column("channel_index", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    # pending → sending (leased) → sent | failed | cancelled
    Column("status", String(12), nullable=False, index=True),
    Column("next_attempt_ms", BigInteger, nullable=False, index=True),
    Column("lease_until_ms", BigInteger, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("sent_ms", BigInteger, nullable=True),
)
attempts = Table(
    "responder_delivery_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, nullable=False, index=True),
    Column("incident_id", String(_ID), nullable=False, index=True),
    Column("person_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("channel_type", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("address", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status", Integer, nullable=True),
    Column("provider_message_id", String(200), nullable=True),
    Column("response", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)
acks = Table(
    "responder_acks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(_ID), nullable=False, index=True),
    Column("page_id", String(16), nullable=True),
    Column("person_id", String(64), nullable=False),
    Column("agency_id", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)
rates = Table(
    "responder_provider_rates",
    metadata,
    Column("provider", String(64), primary_key=True),
    Column("tat_ms", BigInteger, nullable=False),  # GCRA theoretical arrival time
    Column("backoff_until_ms", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
)
drills = Table(
    "responder_drills",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("district", String(32), nullable=False),
    Column("name", String(120), nullable=False),
    Column("kecamatan", String(32), nullable=True),
    Column("kampung", String(32), nullable=True),
    Column("starts_ms", BigInteger, nullable=False),
    Column("ends_ms", BigInteger, nullable=False),
    Column("participants_json", Text, nullable=False),
)
# The engine type, for callers outside store/ (they never import SQLAlchemy themselves).
Engine = AsyncEngine
TABLES = [notices, incidents, pages, deliveries, attempts, acks, rates, drills, fleet_alert_sends]


@dataclass(frozen=True)
class IncidentRow:
    incident_id: str
    district: str
    status: str
    next_due_ms: int | None
    version: int
    notice_json: str
    state_json: str
    drill_id: str | None
    created_ms: int


@dataclass(frozen=True)
class PageRow:
    id: str
    incident_id: str
    person_id: str
    agency_id: str
    reply_code: str
    created_ms: int
    acked_ms: int | None
    ack_channel: str | None
    ack_device: str | None


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    key: str
    incident_id: str
    page_id: str
    person_id: str
    kind: str
    content_json: str
    channels_json: str
    channel_index: int
    attempt: int
    status: str
    next_attempt_ms: int
    lease_until_ms: int | None
    created_ms: int
    sent_ms: int | None


@dataclass(frozen=True)
class AttemptRow:
    delivery_id: int
    incident_id: str
    person_id: str
    kind: str
    channel_type: str
    provider: str
    address: str
    attempt: int
    outcome: str
    status: int | None
    provider_message_id: str | None
    response: str
    at_ms: int


@dataclass(frozen=True)
class AckRow:
    incident_id: str
    page_id: str | None
    person_id: str
    agency_id: str
    channel: str
    at_ms: int


@dataclass(frozen=True)
class DrillRow:
    id: str
    district: str
    name: str
    kecamatan: str | None
    kampung: str | None
    starts_ms: int
    ends_ms: int
    participants_json: str


def _row(cls: Any, row: Any) -> Any:
    return cls(**dict(row._mapping))


class ResponderTx:
    """One transaction's worth of responder queries."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @property
    def _pg(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    async def _insert_ignore(self, table: Table, values: dict[str, Any]) -> bool:
        """INSERT … ON CONFLICT DO NOTHING; True when the row was new. RETURNING tells,
        since drivers differ in what rowcount says for a skipped row."""
        ins = postgresql.insert(table) if self._pg else sqlite.insert(table)
        stmt = ins.values(**values).on_conflict_do_nothing()
        result = await self.conn.execute(stmt.returning(*table.primary_key.columns))
        return result.first() is not None

    async def insert_notice(self, key: str, incident_id: str, reason: str, at_ms: int) -> bool:
        """False when this idempotency key was seen before."""
        values = {"key": key, "incident_id": incident_id, "reason": reason, "received_ms": at_ms}
        return await self._insert_ignore(notices, values)

    async def incident(
        self, incident_id: str, *, lock: bool = False, skip_locked: bool = False
    ) -> IncidentRow | None:
        """With `lock`, the row stays locked until commit (PostgreSQL; SQLite has one writer)."""
        q = select(incidents).where(incidents.c.incident_id == incident_id)
        if lock:
            q = q.with_for_update(skip_locked=skip_locked)
        row = (await self.conn.execute(q)).first()
        return _row(IncidentRow, row) if row else None

    async def insert_incident(self, row: IncidentRow) -> None:
        await self.conn.execute(incidents.insert().values(**row.__dict__))

    async def save_incident(
        self,
        old: IncidentRow,
        *,
        status: str,
        next_due_ms: int | None,
        notice_json: str,
        state_json: str,
    ) -> bool:
        """Compare-and-set on `version`: False when another worker changed it first."""
        result = await self.conn.execute(
            update(incidents)
            .where(incidents.c.incident_id == old.incident_id, incidents.c.version == old.version)
            .values(
                status=status,
                next_due_ms=next_due_ms,
                notice_json=notice_json,
                state_json=state_json,
                version=old.version + 1,
            )
        )
        return bool(result.rowcount == 1)

    async def due_incidents(self, now_ms: int, limit: int) -> list[str]:
        q = (
            select(incidents.c.incident_id)
            .where(incidents.c.next_due_ms <= now_ms)
            .order_by(incidents.c.next_due_ms)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.conn.execute(q)).scalars())

    async def page_of(self, incident_id: str, person_id: str) -> PageRow | None:
        q = select(pages).where(pages.c.incident_id == incident_id, pages.c.person_id == person_id)
        row = (await self.conn.execute(q)).first()
        return _row(PageRow, row) if row else None

    async def insert_page(self, row: PageRow) -> None:
        await self.conn.execute(pages.insert().values(**row.__dict__))

    async def page(self, page_id: str) -> PageRow | None:
        row = (await self.conn.execute(select(pages).where(pages.c.id == page_id))).first()
        return _row(PageRow, row) if row else None

    async def page_by_code(self, code: str) -> PageRow | None:
        row = (await self.conn.execute(select(pages).where(pages.c.reply_code == code))).first()
        return _row(PageRow, row) if row else None

    async def pages_of(self, incident_id: str) -> list[PageRow]:
        q = select(pages).where(pages.c.incident_id == incident_id).order_by(pages.c.created_ms)
        return [_row(PageRow, r) for r in await self.conn.execute(q)]

    async def open_pages(self, person_ids: Sequence[str]) -> list[PageRow]:
        """Unanswered pages of these people on incidents still waiting, newest first."""
        q = (
            select(pages)
            .join(incidents, incidents.c.incident_id == pages.c.incident_id)
            .where(
                pages.c.person_id.in_(list(person_ids)),
                pages.c.acked_ms.is_(None),
                incidents.c.status == "open",
            )
            .order_by(pages.c.created_ms.desc())
        )
        return [_row(PageRow, r) for r in await self.conn.execute(q)]

    async def mark_page_acked(
        self, page_id: str, at_ms: int, channel: str, device: str | None
    ) -> bool:
        result = await self.conn.execute(
            update(pages)
            .where(pages.c.id == page_id, pages.c.acked_ms.is_(None))
            .values(acked_ms=at_ms, ack_channel=channel, ack_device=device)
        )
        return bool(result.rowcount == 1)

    async def insert_ack(self, row: AckRow) -> None:
        await self.conn.execute(acks.insert().values(**row.__dict__))

    async def acks_of(self, incident_id: str) -> list[AckRow]:
        q = select(acks).where(acks.c.incident_id == incident_id).order_by(acks.c.at_ms, acks.c.id)
        return [
            AckRow(**{k: v for k, v in r._mapping.items() if k != "id"})
            for r in await self.conn.execute(q)
        ]

    async def insert_delivery(self, values: dict[str, Any]) -> bool:
        return await self._insert_ignore(deliveries, values)

    async def cancel_deliveries(self, incident_id: str, kinds: Sequence[str]) -> int:
        result = await self.conn.execute(
            update(deliveries)
            .where(
                deliveries.c.incident_id == incident_id,
                deliveries.c.status == "pending",
                deliveries.c.kind.in_(list(kinds)),
            )
            .values(status="cancelled")
        )
        return int(result.rowcount)

    async def update_delivery(self, delivery_id: int, **values: Any) -> None:
        await self.conn.execute(
            update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
        )

    async def log_attempt(self, row: AttemptRow) -> None:
        await self.conn.execute(attempts.insert().values(**row.__dict__))

    async def attempts_of(self, incident_id: str) -> list[AttemptRow]:
        q = select(attempts).where(attempts.c.incident_id == incident_id).order_by(attempts.c.id)
        return [
            AttemptRow(**{k: v for k, v in r._mapping.items() if k != "id"})
            for r in await self.conn.execute(q)
        ]

    async def deliveries_of(self, incident_id: str) -> list[DeliveryRow]:
        q = (
            select(deliveries)
            .where(deliveries.c.incident_id == incident_id)
            .order_by(deliveries.c.id)
        )
        return [_row(DeliveryRow, r) for r in await self.conn.execute(q)]

    async def insert_drill(self, row: DrillRow) -> None:
        await self.conn.execute(delete(drills).where(drills.c.id == row.id))
        await self.conn.execute(drills.insert().values(**row.__dict__))

    async def drills_at(self, district: str, at_ms: int) -> list[DrillRow]:
        q = (
            select(drills)
            .where(
                drills.c.district == district, drills.c.starts_ms <= at_ms, drills.c.ends_ms > at_ms
            )
            .order_by(drills.c.starts_ms)
        )
        return [_row(DrillRow, r) for r in await self.conn.execute(q)]

    async def drill(self, drill_id: str) -> DrillRow | None:
        row = (await self.conn.execute(select(drills).where(drills.c.id == drill_id))).first()
        return _row(DrillRow, row) if row else None


class ResponderStore:
    """Responders' storage on the shared engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create_tables(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda c: metadata.create_all(c, tables=TABLES))

    async def drop_tables(self) -> None:
        """For tests: a clean slate on a database shared by a test session."""
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda c: metadata.drop_all(c, tables=TABLES))

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[ResponderTx]:
        async with self.engine.begin() as conn:
            yield ResponderTx(conn)

    async def claim_deliveries(self, now_ms: int, lease_ms: int, limit: int) -> list[DeliveryRow]:
        """Take due deliveries (and ones whose worker died mid-send) under a lease."""
        due = or_(
            and_(deliveries.c.status == "pending", deliveries.c.next_attempt_ms <= now_ms),
            and_(deliveries.c.status == "sending", deliveries.c.lease_until_ms <= now_ms),
        )
        claimed: list[DeliveryRow] = []
        async with self.engine.begin() as conn:
            q = (
                select(deliveries.c.id)
                .where(due)
                .order_by(deliveries.c.next_attempt_ms)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            for delivery_id in list((await conn.execute(q)).scalars()):
                result = await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == delivery_id, due)
                    .values(status="sending", lease_until_ms=now_ms + lease_ms)
                )
                if result.rowcount == 1:
                    row = (
                        await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))
                    ).one()
                    claimed.append(_row(DeliveryRow, row))
        return claimed

    async def reserve(self, provider: str, now_ms: int, interval_ms: int, burst: int) -> int | None:
        """Take one send slot of a provider (GCRA). None: go ahead; else the earliest time
        (ms) a slot frees up, or the provider's back-off ends."""
        async with self.engine.begin() as conn:
            tx = ResponderTx(conn)
            await tx._insert_ignore(
                rates, {"provider": provider, "tat_ms": 0, "backoff_until_ms": 0, "failures": 0}
            )
            tolerance = (burst - 1) * interval_ms
            tat = case((rates.c.tat_ms < now_ms, now_ms), else_=rates.c.tat_ms)
            result = await conn.execute(
                update(rates)
                .where(
                    rates.c.provider == provider,
                    rates.c.tat_ms <= now_ms + tolerance,
                    rates.c.backoff_until_ms <= now_ms,
                )
                .values(tat_ms=tat + interval_ms)
            )
            if result.rowcount == 1:
                return None
            row = (await conn.execute(select(rates).where(rates.c.provider == provider))).one()
            return max(int(row.tat_ms) - tolerance, int(row.backoff_until_ms), now_ms + 1)

    async def provider_result(
        self,
        provider: str,
        *,
        ok: bool,
        now_ms: int,
        base_ms: int,
        max_ms: int,
        retry_after_ms: int | None = None,
    ) -> None:
        """Exponential back-off per provider after transient failures; reset on success."""
        async with self.engine.begin() as conn:
            if ok:
                await conn.execute(
                    update(rates)
                    .where(rates.c.provider == provider)
                    .values(failures=0, backoff_until_ms=0)
                )
                return
            row = (
                await conn.execute(
                    select(rates).where(rates.c.provider == provider).with_for_update()
                )
            ).first()
            failures = (int(row.failures) if row else 0) + 1
            wait = min(max_ms, base_ms * 2 ** min(failures - 1, 20))
            wait = max(wait, retry_after_ms or 0)
            await conn.execute(
                update(rates)
                .where(rates.c.provider == provider)
                .values(failures=failures, backoff_until_ms=now_ms + wait)
            )

    async def count(self, table: str) -> int:
        t = next(t for t in TABLES if t.name == table)
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
