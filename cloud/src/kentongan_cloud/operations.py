"""Operators' actions: incident steps, notes, sirens for an incident, area alarms; and
technicians' switch of a post's maintenance mode.

Each action is one transaction: the change, its audit line and its outbox rows commit
together; a conflicting concurrent change is retried from a fresh read.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from kentongan_protocol.payloads import AreaFilter, Maintenance

from kentongan_cloud.clock import Clock
from kentongan_cloud.domain.incident import Action, Change, Incident, locate, transition
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.effects import Effects
from kentongan_cloud.errors import ConflictError, NotFoundError, StaleWriteError
from kentongan_cloud.fanout import Fanout, maintenance_key
from kentongan_cloud.records import AreaAlarmRecord, CommandRecord, GatewayAuditEntry, OutboxKind
from kentongan_cloud.store.db import Database, Tx

T = TypeVar("T")
DEFAULT_ALL_CLEAR_S = 30


@dataclass
class Operations:
    db: Database
    directory: Directory
    clock: Clock
    command_expiry_s: int
    on_commit: Callable[[], None] | None = None
    # Called after an operator acknowledged (or dispatched a new incident): stops the
    # responders' escalation.
    on_operator_ack: Callable[[str, str], Awaitable[None]] | None = None
    undelivered: frozenset[OutboxKind] = frozenset()

    def _effects(self) -> Effects:
        return Effects.build(self.directory, self.command_expiry_s, self.undelivered)

    async def _retry(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        for attempt in range(3):
            try:
                async with self.db.transaction() as tx:
                    result = await work(tx)
            except StaleWriteError:
                if attempt == 2:
                    raise
                continue
            if self.on_commit is not None:
                self.on_commit()
            return result
        msg = "unreachable"
        raise AssertionError(msg)

    async def _load(self, tx: Tx, incident_id: str) -> Incident:
        inc = await tx.incidents.get(incident_id)
        if inc is None:
            msg = f"incident {incident_id} not found"
            raise NotFoundError(msg)
        return inc

    async def _apply(self, tx: Tx, inc: Incident, change: Change) -> Incident:
        now = self.clock.now()
        fx = self._effects()
        await fx.incident_change(tx, change, now)
        await tx.incidents.save(inc)
        await fx.flush(tx, now)
        return inc

    async def act(self, incident_id: str, action: Action, actor: str, note: str) -> Incident:
        """acknowledge, dispatch, resolve, false_alarm or cancel."""

        took_new = False

        async def work(tx: Tx) -> Incident:
            nonlocal took_new
            inc = await self._load(tx, incident_id)
            took_new = inc.state == "new" and action in ("acknowledge", "dispatch")
            change = transition(inc, action, actor, self.clock.now(), note)
            return await self._apply(tx, inc, change)

        inc = await self._retry(work)
        if took_new and self.on_operator_ack is not None:
            await self.on_operator_ack(incident_id, actor)
        return inc

    async def note(self, incident_id: str, actor: str, text: str) -> Incident:
        async def work(tx: Tx) -> Incident:
            inc = await self._load(tx, incident_id)
            return await self._apply(tx, inc, Change(inc, "note", actor, self.clock.now(), text))

        return await self._retry(work)

    async def locate(
        self, incident_id: str, actor: str, lat: float, lon: float, detail: str
    ) -> Incident:
        """Move a phone's incident to the position its phone found after the panic."""

        async def work(tx: Tx) -> Incident:
            inc = await self._load(tx, incident_id)
            return await self._apply(
                tx, inc, locate(inc, lat, lon, actor, self.clock.now(), detail)
            )

        return await self._retry(work)

    async def sirens(
        self, incident_id: str, action: Literal["start", "stop"], actor: str
    ) -> Incident:
        """Sound or silence the posts around an incident (residents' reports included)."""

        async def work(tx: Tx) -> Incident:
            inc = await self._load(tx, incident_id)
            now = self.clock.now()
            if action == "start":
                if not inc.is_open:
                    msg = f"incident is {inc.state}; cannot start sirens"
                    raise ConflictError(msg)
                if inc.status != "actual":
                    msg = f"incident is an {inc.status}; sirens sound only for actual incidents"
                    raise ConflictError(msg)
                if inc.sirens_on:
                    msg = "sirens are already sounding for this incident"
                    raise ConflictError(msg)
                ch = Change(inc, "sirens_started", actor, now, "operator started the sirens")
            else:
                if not inc.sirens_on:
                    msg = "no sirens are sounding for this incident"
                    raise ConflictError(msg)
                ch = Change(inc, "sirens_stopped", actor, now, "operator stopped the sirens")
            return await self._apply(tx, inc, ch)

        return await self._retry(work)

    async def area_alarm(
        self, area: AreaFilter, pattern: str, duration_s: int, actor: str
    ) -> AreaAlarmRecord:
        """Titir (or another rhythm) for every post the filter covers, as one broadcast."""
        if pattern not in self.directory.district.siren_patterns:
            msg = f"unknown siren pattern {pattern!r}"
            raise ConflictError(msg)
        if not self.directory.sites_in_area(area):
            msg = "the area covers no active post"
            raise ConflictError(msg)

        async def work(tx: Tx) -> AreaAlarmRecord:
            now = self.clock.now()
            alarm_id = str(uuid.uuid4())
            item, rec = Fanout(self.directory, self.command_expiry_s).broadcast(
                action="area_alarm",
                alarm_id=alarm_id,
                revision=1,
                pattern=pattern,
                duration_s=duration_s,
                area=area,
                now=now,
            )
            alarm = AreaAlarmRecord(
                alarm_id,
                "area_alarm",
                1,
                pattern,
                duration_s,
                area.model_dump_json(),
                actor,
                now,
                None,
                None,
            )
            await tx.commands.add_area_alarm(alarm)
            await tx.commands.add([rec])
            await tx.outbox.add([item], now)
            return alarm

        return await self._retry(work)

    async def area_end(
        self, alarm_id: str, how: Literal["stop", "all_clear"], actor: str
    ) -> AreaAlarmRecord:
        """Stop an area alarm (sirens off) or sound the all-clear (aman), next revision."""

        async def work(tx: Tx) -> AreaAlarmRecord:
            alarm = await tx.commands.area_alarm(alarm_id)
            if alarm is None:
                msg = f"area alarm {alarm_id} not found"
                raise NotFoundError(msg)
            if alarm.action != "area_alarm":
                msg = f"area alarm is already ended ({alarm.action})"
                raise ConflictError(msg)
            now = self.clock.now()
            area = AreaFilter.model_validate_json(alarm.area_json)
            rev = alarm.revision + 1
            fan = Fanout(self.directory, self.command_expiry_s)
            if how == "all_clear":
                item, rec = fan.broadcast(
                    action="all_clear",
                    alarm_id=alarm_id,
                    revision=rev,
                    pattern="aman",
                    duration_s=DEFAULT_ALL_CLEAR_S,
                    area=area,
                    now=now,
                )
                items, recs = [item], [rec]
            else:
                items, recs = fan.area_off(alarm_id, rev, area, now)
            action = "all_clear" if how == "all_clear" else "stopped"
            if not await tx.commands.update_area_alarm(
                alarm_id, action=action, revision=rev, by=actor, at=now, old_rev=alarm.revision
            ):
                msg = f"area alarm {alarm_id} was changed by another worker"
                raise StaleWriteError(msg)
            await tx.commands.add(recs)
            await tx.outbox.add(items, now)
            return await tx.commands.area_alarm(alarm_id) or alarm

        return await self._retry(work)

    async def maintenance(self, gateway_id: str, minutes: int | None, actor: str) -> CommandRecord:
        """Switch a post's maintenance mode on for `minutes`, or off (None): one expiring
        command, audited, in one transaction. An offline post gets it if it is back before
        the command expires."""

        async def work(tx: Tx) -> CommandRecord:
            rows = await tx.fleet.rows(gateway_id)
            if not rows:
                msg = f"gateway {gateway_id} not found"
                raise NotFoundError(msg)
            row = rows[0]
            if row["revoked"]:
                reason = f" ({row['revoked_reason']})" if row["revoked_reason"] else ""
                msg = f"gateway {gateway_id} is revoked{reason}: it takes no commands"
                raise ConflictError(msg)
            if row["retired"]:
                msg = f"gateway {gateway_id} is retired: it takes no commands"
                raise ConflictError(msg)
            now = self.clock.now()
            body = Maintenance(action="maintenance", on=minutes is not None, minutes=minutes)
            earlier = await tx.commands.for_alarm(maintenance_key(gateway_id))
            item, rec = Fanout(self.directory, self.command_expiry_s).maintenance(
                gateway_id, body, now, revision=len(earlier) + 1
            )
            await tx.commands.add([rec])
            await tx.outbox.add([item], now)
            detail = f"{minutes} min" if minutes is not None else ""
            await tx.fleet.audit(
                GatewayAuditEntry(gateway_id, now, actor, rec.action, detail, rec.command_id)
            )
            return rec

        return await self._retry(work)
