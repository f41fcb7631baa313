"""Incident tables: incidents (one open per post, type and status), audit log, reports."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from kentongan_cloud.domain.geo import BoundingBox
from kentongan_cloud.domain.incident import Activation, Incident
from kentongan_cloud.errors import StaleWriteError
from kentongan_cloud.records import AuditEntry, ReportRecord
from kentongan_cloud.store.base import metadata

if TYPE_CHECKING:
    from kentongan_cloud.store.agency_reach import AgencyReach
from kentongan_cloud.store.bulk import insert_many, update_many
from kentongan_cloud.store.types import UtcDateTime, row_of

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    # Set while open, NULL once closed: the unique constraint allows one open incident per
    # post, type and status across every worker.
    Column("open_key", String(120), unique=True),
    Column("district", String(32), nullable=False),
    Column("kecamatan", String(32), nullable=False),
    Column("kampung", String(32), nullable=False),
    Column("post", String(64), nullable=False),
    Column("gateway_id", String(32)),
    Column("post_name", String(120)),
    Column("incident_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("count", Integer, nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("confirmed_at", UtcDateTime),
    Column("historical", Boolean, nullable=False),
    Column("age_s", Float),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("first_occurred_at", UtcDateTime),
    Column("last_activation_at", UtcDateTime, nullable=False),
    Column("opening_event_id", String(36), nullable=False),
    Column("acknowledged_at", UtcDateTime),
    Column("acknowledged_by", String(64)),
    Column("dispatched_at", UtcDateTime),
    Column("dispatched_by", String(64)),
    Column("closed_at", UtcDateTime),
    Column("closed_by", String(64)),
    Column("alarm_id", String(36), nullable=False),
    Column("alarm_revision", Integer, nullable=False),
    Column("sirens_on", Boolean, nullable=False),
    Column("activations", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_incidents_opened_at", "opened_at"),
    Index("ix_incidents_type_status_last", "incident_type", "status", "last_activation_at"),
)

incident_audit = Table(
    "incident_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), ForeignKey("incidents.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail", Text, nullable=False),
)

reports = Table(
    "reports",
    metadata,
    Column("tracking_code", String(40), primary_key=True),
    Column("incident_id", String(36), ForeignKey("incidents.id")),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    # Personal data (UU PDP): erased by the retention job.
    Column("name", String(120)),
    Column("phone", String(40)),
    Column("description", Text),
)

_SCALARS = [f.name for f in fields(Incident) if f.name != "activations"]
# A batch with presses in more places than this looks for peers in one box around them all
# (a statement of bounded size; the kampungs still narrow it).
_MAX_BOXES = 20


def _to_row(inc: Incident) -> dict[str, Any]:
    row = {k: getattr(inc, k) for k in _SCALARS}
    row["activations"] = [
        {"post": a.post, "input": a.input, "at": a.at.isoformat()} for a in inc.activations
    ]
    return row


def _from_row(row: Any) -> Incident:
    m = row._mapping
    kw = {k: m[k] for k in _SCALARS}
    acts = [
        Activation(a["post"], a["input"], datetime.fromisoformat(a["at"])) for a in m["activations"]
    ]
    return Incident(**kw, activations=acts)


class IncidentRepo:
    """Loads and saves incidents; saving checks the version so two workers never both win."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, incident_id: str) -> Incident | None:
        row = (
            await self.conn.execute(select(incidents).where(incidents.c.id == incident_id))
        ).first()
        return None if row is None else _from_row(row)

    async def for_batch(
        self,
        keys: Sequence[str],
        types: Sequence[str],
        statuses: Sequence[str],
        since: datetime,
        kampungs: Collection[str],
        boxes: Collection[BoundingBox],
    ) -> list[Incident]:
        """In one round trip, what an intake batch works with: the open incidents of `keys`,
        and the peers that could confirm its presses (`_recently_active`), each once."""
        c = incidents.c
        wanted: list[ColumnElement[bool]] = [c.open_key.in_(keys)] if keys else []
        peers = _recently_active(types, statuses, since, kampungs, boxes)
        if peers is not None:
            wanted.append(peers)
        if not wanted:
            return []
        rows = await self.conn.execute(select(incidents).where(or_(*wanted)))
        return [_from_row(r) for r in rows]

    async def add(self, incs: Sequence[Incident]) -> None:
        if incs:
            await insert_many(self.conn, incidents, [_to_row(i) for i in incs])

    async def save(self, inc: Incident) -> None:
        """Write back a changed incident; raise StaleWriteError if another worker got there."""
        row = _to_row(inc)
        old = inc.version
        row["version"] = old + 1
        res = await self.conn.execute(
            update(incidents)
            .where(incidents.c.id == inc.id, incidents.c.version == old)
            .values(**{k: v for k, v in row.items() if k != "id"})
        )
        if res.rowcount != 1:
            msg = f"incident {inc.id} was changed by another worker"
            raise StaleWriteError(msg)
        inc.version = old + 1

    async def save_many(self, incs: Sequence[Incident]) -> None:
        """`save` for several incidents; on PostgreSQL one statement (held with the intake's
        other writes, see held.py), every incident's version checked."""
        if not incs or self.conn.dialect.name != "postgresql":
            for inc in incs:
                await self.save(inc)
            return
        rows = []
        for inc in incs:
            row = _to_row(inc)
            del row["id"]
            row |= {"version": inc.version + 1, "b_id": inc.id, "b_version": inc.version}
            rows.append(row)
        ids = ", ".join(i.id for i in incs[:5])
        await update_many(
            self.conn,
            incidents,
            rows,
            match={"b_id": "id", "b_version": "version"},
            stale=f"one of the incidents {ids}… was changed by another worker",
        )
        for inc in incs:
            inc.version += 1

    async def search(
        self,
        *,
        states: Sequence[str] = (),
        types: Sequence[str] = (),
        statuses: Sequence[str] = (),
        kampung: str | None = None,
        kecamatan: str | None = None,
        gateway_id: str | None = None,
        open_only: bool = False,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        reach: AgencyReach | None = None,
    ) -> list[Incident]:
        q = select(incidents)
        if reach is not None:
            q = q.where(reach.clause())
        if states:
            q = q.where(incidents.c.state.in_(states))
        if types:
            q = q.where(incidents.c.incident_type.in_(types))
        if statuses:
            q = q.where(incidents.c.status.in_(statuses))
        if kampung:
            q = q.where(incidents.c.kampung == kampung)
        if kecamatan:
            q = q.where(incidents.c.kecamatan == kecamatan)
        if gateway_id:
            q = q.where(incidents.c.gateway_id == gateway_id)
        if open_only:
            q = q.where(incidents.c.open_key.is_not(None))
        if since is not None:
            q = q.where(incidents.c.opened_at >= since)
        q = q.order_by(incidents.c.opened_at.desc(), incidents.c.id).limit(limit).offset(offset)
        return [_from_row(r) for r in await self.conn.execute(q)]

    async def audit(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            await insert_many(self.conn, incident_audit, [row_of(e) for e in entries])

    async def audit_of(self, incident_id: str) -> list[AuditEntry]:
        rows = await self.conn.execute(
            select(incident_audit)
            .where(incident_audit.c.incident_id == incident_id)
            .order_by(incident_audit.c.id)
        )
        return [AuditEntry(r.incident_id, r.at, r.actor, r.action, r.detail) for r in rows]

    async def add_reports(self, reps: Sequence[ReportRecord]) -> None:
        if reps:
            await insert_many(self.conn, reports, [row_of(r) for r in reps])

    async def report(self, tracking_code: str) -> ReportRecord | None:
        row = (
            await self.conn.execute(select(reports).where(reports.c.tracking_code == tracking_code))
        ).first()
        return None if row is None else ReportRecord(**dict(row._mapping))

    async def report_for_event(self, event_id: str) -> ReportRecord | None:
        row = (
            await self.conn.execute(select(reports).where(reports.c.event_id == event_id))
        ).first()
        return None if row is None else ReportRecord(**dict(row._mapping))

    async def erase_personal_data(self, before: datetime) -> int:
        """Retention: blank the personal fields of reports older than `before`."""
        res = await self.conn.execute(
            update(reports)
            .where(
                reports.c.created_at < before,
                reports.c.name.is_not(None)
                | reports.c.phone.is_not(None)
                | reports.c.description.is_not(None),
            )
            .values(name=None, phone=None, description=None)
        )
        return int(res.rowcount)


def _recently_active(
    types: Sequence[str],
    statuses: Sequence[str],
    since: datetime,
    kampungs: Collection[str],
    boxes: Collection[BoundingBox],
) -> ColumnElement[bool] | None:
    """Open incidents of these types and statuses with an activation since `since` that lie
    in one of `kampungs` or `boxes`: the peers that could confirm the presses there. The
    caller still measures the distance (a box holds a little more than its circle). None: no
    such peer. The status lets the (type, status, last activation) index read only the
    recent entries: without it, it read every incident of the type (5 ms at 200,000).

    Without the place, a burst in one kecamatan loaded every incident of the burst into
    every batch: hundreds of rows turned into objects to find the two or three nearby."""
    if not types or not statuses or not (kampungs or boxes):
        return None
    if len(boxes) > _MAX_BOXES:
        boxes = [BoundingBox.covering(boxes)]
    c = incidents.c
    return and_(
        c.open_key.is_not(None),
        c.incident_type.in_(types),
        c.status.in_(statuses),
        c.last_activation_at >= since,
        or_(
            c.kampung.in_(sorted(kampungs)),
            *(and_(c.lat.between(b.south, b.north), c.lon.between(b.west, b.east)) for b in boxes),
        ),
    )
