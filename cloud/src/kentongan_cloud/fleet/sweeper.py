"""The fleet sweep: heartbeat deadlines, technicians' alerts and retention, from the database.

Every worker may sweep; each step is a conditional update, so two sweeps never double an
offline mark or an alert.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from kentongan_cloud.clock import Clock
from kentongan_cloud.domain import fleet as rules
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.effects import Effects, alert_text
from kentongan_cloud.records import OutboxKind
from kentongan_cloud.settings import FleetSettings
from kentongan_cloud.store.db import Database

_LOGGER = logging.getLogger(__name__)
OUTBOX_KEEP = timedelta(days=7)
PURGE_CHUNK = 5000


class Sweeper:
    def __init__(
        self,
        db: Database,
        directory: Directory,
        clock: Clock,
        settings: FleetSettings,
        *,
        command_expiry_s: int,
        retention_days: float,
        undelivered: frozenset[OutboxKind] = frozenset(),
    ) -> None:
        self.db = db
        self.undelivered = undelivered
        self.directory = directory
        self.clock = clock
        self.settings = settings
        self.command_expiry_s = command_expiry_s
        self.retention_days = retention_days
        self._passes = 0

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                _LOGGER.exception("fleet sweep failed")
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def sweep(self) -> None:
        """One pass at the current time."""
        now = self.clock.now()
        effects = Effects.build(self.directory, self.command_expiry_s, self.undelivered)
        async with self.db.transaction() as tx:
            overdue = await tx.fleet.overdue(now)
            for gid, g in (await tx.fleet.load(overdue)).items():
                changes = rules.go_offline(g, now, "heartbeat")
                if changes:
                    _LOGGER.warning(
                        "gateway %s offline: no heartbeat since %s", gid, g.last_seen_at
                    )
                await effects.fleet_changes(tx, changes)
                await tx.fleet.save(g)
            after = timedelta(minutes=self.settings.offline_alert_after_min)
            for alarm in await tx.fleet.due_alerts(["offline"], now - after):
                if await tx.fleet.mark_alerted(alarm.id, now):
                    _LOGGER.warning(
                        "technician alert: gateway %s offline since %s",
                        alarm.gateway_id,
                        alarm.raised_at,
                    )
                    effects.fleet_alert(
                        alarm.gateway_id, "offline", alarm.raised_at, alert_text("offline")
                    )
            await effects.flush(tx, now)
        self._passes += 1
        if self._passes % 100 == 1:
            await self.retain(now)

    async def retain(self, now: datetime, chunk: int = PURGE_CHUNK) -> int:
        """Erase personal fields past the retention period and delivered outbox rows past a
        week; returns how many outbox rows went. The rows go `chunk` at a time, a transaction
        each: after a long outage (or on the first run) there can be millions, and on SQLite
        one DELETE of them all would hold the event loop, and the intake, for seconds."""
        before = now - timedelta(days=self.retention_days)
        async with self.db.transaction() as tx:
            erased = await tx.incidents.erase_personal_data(before)
            erased += await tx.web.erase_guest_reports(before)
        if erased:
            _LOGGER.info("retention: erased personal fields of %d reports", erased)
        purged = 0
        while True:
            # Delivered side effects are only needed while a repeat could still come.
            async with self.db.transaction() as tx:
                n = await tx.outbox.purge_delivered(now - OUTBOX_KEEP, limit=chunk)
            purged += n
            if n < chunk:
                break
            await asyncio.sleep(0)  # a transaction waiting for the connection goes first
        if purged:
            _LOGGER.info("outbox: removed %d rows delivered over a week ago", purged)
        return purged
