"""Tables of the web pages: rate-limit hits, residents' photos, report reviews, the shift
handover log. Rate limits live here (not in memory) so every worker counts the same hits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.outbox import outbox
from kentongan_cloud.store.types import UtcDateTime

web_hits = Table(
    "web_hits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bucket", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_web_hits_bucket_at", "bucket", "at"),
)

report_photos = Table(
    "report_photos",
    metadata,
    Column("tracking_code", String(64), primary_key=True),
    Column("content_type", String(32), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

handover_log = Table(
    "handover_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(80), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
)

guest_reports = Table(
    "guest_reports",
    metadata,
    Column("tracking_code", String(64), primary_key=True),
    Column("kampung", String(32), nullable=False, index=True),
    Column("rt", String(8), nullable=False),
    Column("host_name", String(120)),
    Column("host_phone", String(24)),
    Column("guests", Integer, nullable=False),
    Column("guest_names", Text),
    Column("arrival", String(10), nullable=False),
    Column("departure", String(10)),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("seen_by", String(80)),
)

incident_links = Table(
    "incident_links",
    metadata,
    Column("from_id", String(36), primary_key=True),
    Column("to_id", String(36), nullable=False, index=True),
    Column("linked_by", String(80), nullable=False),
    Column("linked_at", UtcDateTime, nullable=False),
)


class WebRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def hit(self, bucket: str, now: datetime, since: datetime) -> int:
        """Record one hit in `bucket`; the number of hits since `since`, this one included."""
        await self.conn.execute(delete(web_hits).where(web_hits.c.at < since))
        await self.conn.execute(insert(web_hits).values(bucket=bucket, at=now))
        q = select(func.count()).where(web_hits.c.bucket == bucket, web_hits.c.at >= since)
        return int((await self.conn.execute(q)).scalar_one())

    async def add_photo(
        self, tracking_code: str, content_type: str, content: bytes, now: datetime
    ) -> None:
        await self.conn.execute(
            insert(report_photos).values(
                tracking_code=tracking_code,
                content_type=content_type,
                content=content,
                created_at=now,
            )
        )

    async def photo(self, tracking_code: str) -> tuple[str, bytes] | None:
        row = (
            await self.conn.execute(
                select(report_photos).where(report_photos.c.tracking_code == tracking_code)
            )
        ).first()
        return None if row is None else (row.content_type, bytes(row.content))

    async def add_handover(self, at: datetime, actor: str, kind: str, text: str) -> None:
        await self.conn.execute(
            insert(handover_log).values(at=at, actor=actor, kind=kind, text=text)
        )

    async def handovers(self, limit: int = 50) -> list[tuple[datetime, str, str, str]]:
        rows = await self.conn.execute(
            select(handover_log).order_by(handover_log.c.at.desc()).limit(limit)
        )
        return [(r.at, r.actor, r.kind, r.text) for r in rows]

    async def last_shift_starter(self) -> str | None:
        """Who started the latest shift ("mulai" in the handover log), if anyone."""
        row = (
            await self.conn.execute(
                select(handover_log.c.actor)
                .where(handover_log.c.kind == "mulai")
                .order_by(handover_log.c.at.desc(), handover_log.c.id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else str(row.actor)

    async def add_guest_report(self, row: dict[str, object]) -> None:
        """Lapor tamu: a household's overnight guests, for the Ketua RT (personal data)."""
        await self.conn.execute(insert(guest_reports).values(**row))

    async def guest_reports(self, limit: int = 100) -> list[dict[str, object]]:
        rows = await self.conn.execute(
            select(guest_reports).order_by(guest_reports.c.created_at.desc()).limit(limit)
        )
        return [dict(r._mapping) for r in rows]

    async def guest_report_seen(self, tracking_code: str, by: str) -> None:
        await self.conn.execute(
            update(guest_reports)
            .where(guest_reports.c.tracking_code == tracking_code)
            .values(seen_by=by)
        )

    async def guest_report(self, tracking_code: str) -> dict[str, object] | None:
        row = (
            await self.conn.execute(
                select(guest_reports).where(guest_reports.c.tracking_code == tracking_code)
            )
        ).first()
        return None if row is None else dict(row._mapping)

    async def erase_guest_reports(self, before: datetime) -> int:
        """Retention: guests' and hosts' names go after the retention period."""
        res = await self.conn.execute(
            update(guest_reports)
            .where(guest_reports.c.created_at < before, guest_reports.c.host_name.is_not(None))
            .values(host_name=None, host_phone=None, guest_names=None)
        )
        return int(res.rowcount)

    async def link(self, from_id: str, to_id: str, by: str, now: datetime) -> None:
        """A resident's report joined to the incident it describes."""
        await self.conn.execute(
            insert(incident_links).values(from_id=from_id, to_id=to_id, linked_by=by, linked_at=now)
        )

    async def linked_to(self, from_id: str) -> str | None:
        row = (
            await self.conn.execute(
                select(incident_links.c.to_id).where(incident_links.c.from_id == from_id)
            )
        ).first()
        return None if row is None else str(row.to_id)

    async def notices_of(self, incident_id: str) -> list[tuple[str, str, int, datetime]]:
        """The incident's notifications in the outbox: (reason, state, attempts, created)."""
        prefix = f"notice:{incident_id}:"
        rows = await self.conn.execute(
            select(outbox)
            .where(outbox.c.kind == "notification", outbox.c.idempotency_key.startswith(prefix))
            .order_by(outbox.c.created_at)
        )
        out = []
        for r in rows:
            state = (
                "delivered"
                if r.delivered_at
                else "failed"
                if r.failed_at
                else "voided"
                if r.voided_at
                else "pending"
            )
            out.append((r.idempotency_key[len(prefix) :], state, int(r.attempts), r.created_at))
        return out
