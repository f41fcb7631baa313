"""Outbox workers: claim due rows, hand each to its port, mark it, retry with backoff.

A crash between a commit and a delivery leaves the row pending; a crash between a delivery
and its mark leaves a lease that runs out, and the row goes again with the same idempotency
key (commands keep their command_id, so a gateway applies them once).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from kentongan_protocol.topics import Suffix, broadcast_topic, gateway_topic

from kentongan_cloud.clock import Clock
from kentongan_cloud.fanout import BROADCAST_TARGET, CommandEnvelope
from kentongan_cloud.ports import (
    Annotation,
    AnnotationSink,
    FleetAlert,
    FleetAlertSink,
    IncidentNotice,
    Notifier,
    PointSink,
    TimePoint,
)
from kentongan_cloud.records import OutboxKind, OutboxRow
from kentongan_cloud.settings import OutboxSettings
from kentongan_cloud.store.db import Database
from kentongan_cloud.waiting import wait_set

_LOGGER = logging.getLogger(__name__)


class CommandPublisher(Protocol):
    """Publishes a command and waits for the broker's PUBACK (the MQTT link)."""

    async def publish(
        self, topic: str, payload: bytes, *, expiry_s: int | None = None, ack_wait_s: float = 10.0
    ) -> int: ...

    def is_connected(self) -> bool: ...


@dataclass
class Sinks:
    """Where side effects go; a kind without a sink is left for a worker that has one."""

    notifier: Notifier | None = None
    points: PointSink | None = None
    annotations: AnnotationSink | None = None
    fleet_alerts: FleetAlertSink | None = None


_COMMAND_KINDS = ("command", "broadcast")
_SLOW_BATCH = 20  # notifications, annotations, alerts: each its own network call
_HELD = "held"  # a command given back untried because the broker link is down


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: OutboxSettings,
        sinks: Sinks,
        *,
        district: str,
        publisher: CommandPublisher | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.sinks = sinks
        self.district = district
        self.publisher = publisher
        self._wake = asyncio.Event()
        self._link_down_logged = False
        self.delivered = 0
        kinds: list[OutboxKind] = []
        if publisher is not None:
            kinds += ["command", "broadcast"]
        if sinks.notifier is not None:
            kinds.append("notification")
        if sinks.points is not None:
            kinds.append("point")
        if sinks.annotations is not None:
            kinds.append("annotation")
        if sinks.fleet_alerts is not None:
            kinds.append("fleet_alert")
        self.kinds = tuple(kinds)
        slow = tuple(k for k in kinds if k not in (*_COMMAND_KINDS, "point"))
        self._lanes = [
            (lane, limit)
            for lane, limit in (
                (tuple(k for k in kinds if k in _COMMAND_KINDS), settings.batch),
                (tuple(k for k in kinds if k == "point"), settings.batch),
                (slow, _SLOW_BATCH),
            )
            if lane
        ]

    def wake(self, kinds: Collection[OutboxKind] | None = None) -> None:
        """Look for work now (after a commit in this process), unless the commit wrote only
        rows of `kinds` this worker does not deliver: at 1,000 events/s an empty pass after
        every intake batch would take the database from the intake for nothing."""
        if kinds is None or self.delivers(kinds):
            self._wake.set()

    def delivers(self, kinds: Collection[OutboxKind]) -> bool:
        """Whether this worker delivers any of `kinds`."""
        return not set(kinds).isdisjoint(self.kinds)

    async def run(self) -> None:
        if not self.kinds:
            _LOGGER.info("outbox worker has no sinks; not delivering")
            return
        while True:
            try:
                n = await self.drain_once()
            except Exception:
                _LOGGER.exception("outbox pass failed")
                n = 0
            if n == 0:
                await wait_set(self._wake, self.settings.poll_interval_s)
                self._wake.clear()

    async def drain_once(self) -> int:
        """One pass over every kind this worker delivers; returns how many rows it claimed.

        Siren commands and broadcasts are claimed first and on their own, then points, then
        the rest a few at a time: a slow or failing sink (a provider that does not answer,
        a thousand technician alerts) must never hold a siren command back for long."""
        n = 0
        for kinds, limit in self._lanes:
            if kinds[0] in _COMMAND_KINDS and not self._link_up():
                continue
            n += await self._pass(kinds, limit)
            await asyncio.sleep(0)  # let the intake in between lanes (see _pass)
        return n

    def _link_up(self) -> bool:
        """Whether commands can go now. While the broker link is down they stay pending
        without spending attempts or backoff; the link wakes the worker when it returns."""
        up = self.publisher is not None and self.publisher.is_connected()
        if not up and not self._link_down_logged:
            _LOGGER.warning("no connection to the broker: siren commands wait in the outbox")
        elif up and self._link_down_logged:
            _LOGGER.info("connection to the broker back: sending the waiting commands")
        self._link_down_logged = not up
        return up

    async def _pass(self, kinds: tuple[OutboxKind, ...], limit: int) -> int:
        """Claim up to `limit` due rows of `kinds` and deliver them.

        Points go to the writer in one call; commands and broadcasts are published together
        (each still waits for its PUBACK, but side by side: a confirmation in a dense
        kampung fans out to dozens of posts); technicians' alerts go to their sink in one
        call (it writes its own log of them in few transactions); the rest go one by one, in
        order. Every row delivered in the pass is marked in one transaction."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            rows = await tx.outbox.claim(kinds, now, limit, self.settings.lease_s)
        done: list[tuple[OutboxRow, str | None]] = []
        points = [r for r in rows if r.kind == "point"]
        if points:
            done += await self._deliver_points(points)
        commands = [r for r in rows if r.kind in _COMMAND_KINDS]
        held: list[OutboxRow] = []
        outcomes = await asyncio.gather(*(self._attempt_command(r) for r in commands))
        for row, outcome in zip(commands, outcomes, strict=True):
            if outcome == _HELD:
                held.append(row)
            elif outcome is not None:
                done.append((row, outcome))
        if held:
            async with self.db.transaction() as tx:
                await tx.outbox.release(held)
        alerts = [r for r in rows if r.kind == "fleet_alert"]
        if alerts:
            done += await self._deliver_alerts(alerts)
        for row in rows:
            if row.kind not in ("point", "fleet_alert", *_COMMAND_KINDS):
                # A sink that needs no network (an alert nobody can be sent, on SQLite, which
                # runs in this thread) never suspends: without this the whole pass would hold
                # the event loop, and every panic arriving meanwhile would wait behind it.
                await asyncio.sleep(0)
                attempt = await self._attempt(row)
                if attempt is not None:
                    done.append(attempt)
        await self._done(done)
        return len(rows)

    async def _deliver_points(self, rows: list[OutboxRow]) -> list[tuple[OutboxRow, str | None]]:
        sink = self.sinks.points
        if sink is None:
            return []
        try:
            sink.write([TimePoint.model_validate_json(r.payload) for r in rows])
        except Exception as exc:
            for r in rows:
                await self._failed(r, exc)
            return []
        return [(r, None) for r in rows]

    async def _deliver_alerts(self, rows: list[OutboxRow]) -> list[tuple[OutboxRow, str | None]]:
        sink = self.sinks.fleet_alerts
        if sink is None:
            return []
        items: list[tuple[OutboxRow, FleetAlert]] = []
        for row in rows:
            try:
                items.append((row, FleetAlert.model_validate_json(row.payload)))
            except ValueError as exc:
                await self._failed(row, exc)
        try:
            errors = await sink.alert_many([(alert, row.key) for row, alert in items])
        except Exception as exc:
            errors = [exc] * len(items)
        done: list[tuple[OutboxRow, str | None]] = []
        for (row, _), error in zip(items, errors, strict=True):
            if error is None:
                done.append((row, None))
            else:
                await self._failed(row, error)
        return done

    async def _attempt(self, row: OutboxRow) -> tuple[OutboxRow, str | None] | None:
        """Send one row; its outcome, or None when it failed (and was rescheduled)."""
        try:
            outcome = await self._send(row)
        except Exception as exc:
            await self._failed(row, exc)
            return None
        return row, outcome

    async def _attempt_command(self, row: OutboxRow) -> str | None:
        """Publish one command; its outcome, _HELD when the link fell before it could go
        (given back untried), or None when it failed and was rescheduled."""
        try:
            return await self._send_command(row)
        except Exception as exc:
            if self.publisher is not None and not self.publisher.is_connected():
                return _HELD
            await self._failed(row, exc)
            return None

    async def _send(self, row: OutboxRow) -> str | None:
        s = self.sinks
        if row.kind == "notification" and s.notifier is not None:
            await s.notifier.notify(IncidentNotice.model_validate_json(row.payload), row.key)
        elif row.kind == "annotation" and s.annotations is not None:
            await s.annotations.annotate(Annotation.model_validate_json(row.payload), row.key)
        return None

    async def _send_command(self, row: OutboxRow) -> str:
        if self.publisher is None:
            msg = "this worker has no MQTT link"
            raise RuntimeError(msg)
        env = CommandEnvelope.model_validate_json(row.payload)
        left = (env.expires_at - self.clock.now()).total_seconds()
        if left < 1:
            _LOGGER.warning(
                "command %s to %s expired before it was sent", env.command_id, env.target
            )
            return "expired"
        if env.target == BROADCAST_TARGET:
            topic = broadcast_topic(self.district)
        else:
            topic = gateway_topic(self.district, env.target, Suffix.CMD)
        await self.publisher.publish(topic, env.body.encode(), expiry_s=math.ceil(left))
        return "sent"

    async def _done(self, done: list[tuple[OutboxRow, str | None]]) -> None:
        if not done:
            return
        now = self.clock.now()
        outcomes = [
            (CommandEnvelope.model_validate_json(row.payload).command_id, outcome)
            for row, outcome in done
            if outcome is not None
        ]
        async with self.db.transaction() as tx:
            await tx.outbox.delivered_many([row for row, _ in done], now)
            await tx.commands.mark(outcomes, now)
        self.delivered += len(done)

    async def _failed(self, row: OutboxRow, exc: Exception) -> None:
        attempts = row.attempts + 1
        give_up = attempts >= self.settings.max_attempts
        delay = min(self.settings.backoff_max_s, 2.0 ** min(attempts, 20))
        log = _LOGGER.error if give_up else _LOGGER.warning
        log(
            "delivery of %s %s failed (attempt %d%s): %s",
            row.kind,
            row.key,
            attempts,
            ", giving up" if give_up else f", next in {delay:.0f} s",
            exc,
        )
        async with self.db.transaction() as tx:
            await tx.outbox.retry_later(row, self.clock.now(), delay, str(exc), give_up=give_up)
