"""Fleet tables: the gateway registry (synced from firmware_configs/) with health, and alarms."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from kentongan_cloud.domain.fleet import AlarmKind, GatewayHealth
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.errors import StaleWriteError
from kentongan_cloud.records import FleetAlarmRecord, GatewayAuditEntry
from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.bulk import execute_many, insert_many, one_of, update_many
from kentongan_cloud.store.grafana_views import sync_names
from kentongan_cloud.store.types import UtcDateTime, row_of

gateways = Table(
    "gateways",
    metadata,
    Column("gateway_id", String(32), primary_key=True),
    Column("post_name", String(120), nullable=False),
    Column("kecamatan", String(32), nullable=False),
    Column("kampung", String(32), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("heartbeat_s", Integer, nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("revoked_reason", Text),
    Column("retired", Boolean, nullable=False, default=False),
    Column("online", Boolean, nullable=False, default=False),
    Column("session_id", String(32)),
    Column("firmware", String(32)),
    Column("reported_config_hash", String(64)),
    Column("state_since", UtcDateTime),
    Column("offline_reason", String(32)),
    Column("last_seen_at", UtcDateTime),
    # Not indexed: see migration 0006 (every heartbeat moves it).
    Column("deadline_at", UtcDateTime),
    Column("last_telemetry", JSON),
    Column("last_telemetry_at", UtcDateTime),
    Column("on_duty", Boolean, nullable=False, default=False),
    Column("duty_since", UtcDateTime),
    Column("alarms", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=0),
    # Room on each page for a row's next version (PostgreSQL): see migration 0006.
    postgresql_with={"fillfactor": 50},
)

fleet_alarms = Table(
    "fleet_alarms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("open_key", String(64), unique=True),
    Column("gateway_id", String(32), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("cleared_at", UtcDateTime),
    Column("alerted_at", UtcDateTime),
    Column("detail", Text, nullable=False),
)

gateway_audit = Table(
    "gateway_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("gateway_id", String(32), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("command_id", String(36)),
)

_HEALTH = [
    "online",
    "session_id",
    "firmware",
    "reported_config_hash",
    "state_since",
    "offline_reason",
    "last_seen_at",
    "deadline_at",
    "on_duty",
    "duty_since",
]
# Written only by a transaction that took telemetry, never read back into GatewayHealth: no
# rule reads the last telemetry, and decoding its JSON for every event's gateway (and
# encoding it again) was a tenth of the intake's time on SQLite.
_TELEMETRY = ["last_telemetry", "last_telemetry_at"]
_HEALTH_AND_TELEMETRY = _HEALTH + _TELEMETRY


# What a health load reads: the registry's own columns (name, place, config) are not
# needed, and converting them cost every event of a batch.
_HEALTH_COLUMNS = [
    gateways.c[k] for k in ["gateway_id", "heartbeat_s", *_HEALTH, "alarms", "version"]
]


def _save(columns: list[str]) -> Update:
    """Optimistic write keyed by bind parameters (names apart from the columns it sets)."""
    return (
        update(gateways)
        .where(
            gateways.c.gateway_id == bindparam("b_gid"),
            gateways.c.version == bindparam("b_version"),
        )
        .values({k: bindparam(k) for k in [*columns, "alarms", "version"]})
    )


_SAVE = _save(_HEALTH)
_SAVE_TELEMETRY = _save(_HEALTH_AND_TELEMETRY)


@dataclass(frozen=True, slots=True)
class AlarmRaise:
    gateway_id: str
    kind: str
    at: datetime
    detail: str
    alerted: bool = False  # the technicians are told of this one (alerted_at = at)


def _health(row: Any) -> GatewayHealth:
    m = row._mapping
    g = GatewayHealth(gateway_id=m["gateway_id"], heartbeat_s=m["heartbeat_s"])
    for k in _HEALTH:
        setattr(g, k, m[k])
    g.alarms = set(cast(list[AlarmKind], m["alarms"]))
    g.version = m["version"]
    return g


def _alarm(r: Any) -> FleetAlarmRecord:
    return FleetAlarmRecord(
        r.id, r.gateway_id, r.kind, r.raised_at, r.cleared_at, r.alerted_at, r.detail
    )


class FleetRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def sync(self, d: Directory, every_id: Iterable[str]) -> None:
        """Make the registry match the provisioning files: add, update, revoke, retire."""
        await sync_names(self.conn, d)
        known = {r[0] for r in await self.conn.execute(select(gateways.c.gateway_id))}
        files = set(every_id)
        everyone = [(s, False) for s in d.sites.values()]
        everyone += [(s, True) for s in d.revoked_sites.values()]
        for site, revoked in everyone:
            gid = site.gateway_id
            values = {
                "post_name": site.post_name,
                "kecamatan": site.place.kecamatan,
                "kampung": site.place.kampung,
                "lat": site.lat,
                "lon": site.lon,
                "heartbeat_s": site.heartbeat_s,
                "config_hash": site.config_hash,
                "revoked": revoked,
                "revoked_reason": d.revoked.get(gid) if revoked else None,
                "retired": False,
            }
            if revoked:
                values["online"] = False
            if gid in known:
                await self.conn.execute(
                    update(gateways).where(gateways.c.gateway_id == gid).values(**values)
                )
            else:
                # `values` also says online=False for a revoked post: merged, not repeated.
                fresh = {"gateway_id": gid, "online": False, "on_duty": False, "alarms": []}
                await self.conn.execute(insert(gateways).values(**(fresh | values), version=0))
        for gid in known - set(d.sites) - set(d.revoked_sites):
            await self.conn.execute(
                update(gateways)
                .where(gateways.c.gateway_id == gid)
                .values(
                    revoked=gid in d.revoked,
                    revoked_reason=d.revoked.get(gid),
                    retired=gid not in files,
                    online=False,
                )
            )

    async def load(self, ids: Sequence[str]) -> dict[str, GatewayHealth]:
        """The gateways' rows, locked until the commit on PostgreSQL (in id order, so two
        workers never wait on each other in a circle). Workers on one `$share/` group get
        events of the same posts at once; without the lock their batches collided on the
        version check and fell back to one event per transaction (p50 10 s at 1,000
        events/s). SQLite's write lock already serialises the transactions."""
        if not ids:
            return {}
        q = (
            select(*_HEALTH_COLUMNS)
            .where(one_of(self.conn, gateways.c.gateway_id, sorted(set(ids))))
            .order_by(gateways.c.gateway_id)
            .with_for_update()
        )
        return {r.gateway_id: _health(r) for r in await self.conn.execute(q)}

    async def save(self, g: GatewayHealth) -> None:
        await self.save_many([g])

    async def save_many(self, gs: Sequence[GatewayHealth]) -> None:
        """Write each gateway's health if nobody else changed it since it was loaded.

        One statement for the batch (two when some gateways sent telemetry): every event
        touches its gateway's row, and a statement per gateway was most of the intake's cost."""
        if not gs:
            return
        plain: list[dict[str, Any]] = []
        telemetry: list[dict[str, Any]] = []
        for g in gs:
            with_telemetry = g.last_telemetry is not None
            columns = _HEALTH_AND_TELEMETRY if with_telemetry else _HEALTH
            values: dict[str, Any] = {k: getattr(g, k) for k in columns}
            values["alarms"] = sorted(g.alarms)
            values["version"] = g.version + 1
            values["b_gid"] = g.gateway_id
            values["b_version"] = g.version
            (telemetry if with_telemetry else plain).append(values)
        ids = ", ".join(g.gateway_id for g in gs[:5])
        stale = f"one of the gateways {ids}… was changed by another worker"
        saved = 0
        for rows, stmt in ((plain, _SAVE), (telemetry, _SAVE_TELEMETRY)):
            if not rows:
                continue
            if self.conn.dialect.name == "postgresql":
                match = {"b_gid": "gateway_id", "b_version": "version"}
                await update_many(self.conn, gateways, rows, match=match, stale=stale)
                saved += len(rows)
            else:
                saved += await execute_many(self.conn, stmt, rows)
        if saved != len(gs):
            raise StaleWriteError(stale)
        for g in gs:
            g.version += 1

    async def overdue(self, now: datetime) -> list[str]:
        """Online gateways whose heartbeat deadline has passed."""
        rows = await self.conn.execute(
            select(gateways.c.gateway_id).where(
                gateways.c.online.is_(True), gateways.c.deadline_at < now
            )
        )
        return [r[0] for r in rows]

    async def rows(self, gateway_id: str | None = None) -> list[dict[str, Any]]:
        q = select(gateways).order_by(gateways.c.gateway_id)
        if gateway_id is not None:
            q = q.where(gateways.c.gateway_id == gateway_id)
        return [dict(r._mapping) for r in await self.conn.execute(q)]

    async def raise_alarms(self, raised: Sequence[AlarmRaise]) -> None:
        """Open each alarm that is not open already: one SELECT and one INSERT for a batch
        (a battery-low from every post of a district is a row per post, not two statements)."""
        wanted = {f"{r.gateway_id}|{r.kind}": r for r in reversed(raised)}  # the first wins
        if not wanted:
            return
        rows = await self.conn.execute(
            select(fleet_alarms.c.open_key).where(
                one_of(self.conn, fleet_alarms.c.open_key, sorted(wanted))
            )
        )
        open_now = {r[0] for r in rows}
        fresh = [
            {
                "open_key": key,
                "gateway_id": r.gateway_id,
                "kind": r.kind,
                "raised_at": r.at,
                "detail": r.detail,
                "alerted_at": r.at if r.alerted else None,
            }
            for key, r in sorted(wanted.items())
            if key not in open_now
        ]
        await insert_many(self.conn, fleet_alarms, fresh)

    async def last_alerted(
        self, pairs: set[tuple[str, str]], since: datetime
    ) -> dict[tuple[str, str], datetime]:
        """When each (gateway, kind) alarm last alerted the technicians, if after `since`."""
        if not pairs:
            return {}
        rows = await self.conn.execute(
            select(fleet_alarms.c.gateway_id, fleet_alarms.c.kind, fleet_alarms.c.alerted_at).where(
                one_of(self.conn, fleet_alarms.c.gateway_id, sorted({g for g, _ in pairs})),
                fleet_alarms.c.kind.in_(sorted({k for _, k in pairs})),
                fleet_alarms.c.alerted_at >= since,
            )
        )
        last: dict[tuple[str, str], datetime] = {}
        for gid, kind, at in rows:
            if (gid, kind) in pairs and ((gid, kind) not in last or at > last[gid, kind]):
                last[gid, kind] = at
        return last

    async def clear_alarms(self, cleared: Sequence[tuple[str, str]], at: datetime) -> None:
        """Close these (gateway, kind) alarms where they are open."""
        if cleared:
            keys = sorted({f"{gid}|{kind}" for gid, kind in cleared})
            await self.conn.execute(
                update(fleet_alarms)
                .where(one_of(self.conn, fleet_alarms.c.open_key, keys))
                .values(open_key=None, cleared_at=at)
            )

    async def alarms(self, *, open_only: bool = True, limit: int = 200) -> list[FleetAlarmRecord]:
        q = select(fleet_alarms).order_by(fleet_alarms.c.raised_at.desc()).limit(limit)
        if open_only:
            q = q.where(fleet_alarms.c.open_key.is_not(None))
        return [_alarm(r) for r in await self.conn.execute(q)]

    async def due_alerts(
        self, kinds: Sequence[str], raised_before: datetime
    ) -> list[FleetAlarmRecord]:
        rows = await self.conn.execute(
            select(fleet_alarms).where(
                fleet_alarms.c.open_key.is_not(None),
                fleet_alarms.c.alerted_at.is_(None),
                fleet_alarms.c.kind.in_(kinds),
                fleet_alarms.c.raised_at <= raised_before,
            )
        )
        return [_alarm(r) for r in rows]

    async def mark_alerted(self, alarm_id: int, at: datetime) -> bool:
        res = await self.conn.execute(
            update(fleet_alarms)
            .where(fleet_alarms.c.id == alarm_id, fleet_alarms.c.alerted_at.is_(None))
            .values(alerted_at=at)
        )
        return bool(res.rowcount == 1)

    async def audit(self, entry: GatewayAuditEntry) -> None:
        await self.conn.execute(insert(gateway_audit).values(**row_of(entry)))

    async def audit_of(self, gateway_id: str, limit: int = 50) -> list[GatewayAuditEntry]:
        """The newest first."""
        rows = await self.conn.execute(
            select(gateway_audit)
            .where(gateway_audit.c.gateway_id == gateway_id)
            .order_by(gateway_audit.c.id.desc())
            .limit(limit)
        )
        return [
            GatewayAuditEntry(r.gateway_id, r.at, r.actor, r.action, r.detail, r.command_id)
            for r in rows
        ]
