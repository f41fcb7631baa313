"""Technicians' alerts (the core's `FleetAlertSink`): a post offline for minutes, on battery,
opened or with a silent siren is told to the technicians whose area covers it, through the
responders' channel adapters and providers: per person the first channel that takes it.

Every technician agency (kind `technician`) covering the post tells whoever is on shift, else
its fallback. Idempotent by the outbox key: each person told is recorded, so a retry after
a partial failure or a crash tells only the rest. When a person cannot be reached on any
channel, `alert` raises and the outbox retries with its back-off.

A district without a technician for the post is not an error of the alert: it is logged as
an error and recorded (outcome "nobody"), and the outbox row is done, never pending forever.
Likewise a technician none of whose channels has a provider configured in this process
(outcome "unconfigured"): retrying cannot reach them until the configuration changes, and a
flapping alarm would otherwise fill the outbox with retries that only fail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from kentongan_protocol.provisioning.district import Agency, Channel, District, Person

from kentongan_cloud.ports import FleetAlert
from kentongan_cloud.responders.channels.base import ChannelAdapter
from kentongan_cloud.responders.clock import Clock, to_ms
from kentongan_cloud.responders.errors import ChannelError, FleetAlertError
from kentongan_cloud.responders.models import FleetContent, SendReceipt
from kentongan_cloud.responders.roster import local_time, on_call
from kentongan_cloud.responders.routing import covers_place, recipient
from kentongan_cloud.store.fleet_alerts import NOBODY, FleetAlertLog

_LOGGER = logging.getLogger(__name__)
QUIET_FOR = timedelta(minutes=1)


class _UnsentLog:
    """The first alert that cannot be sent for a reason is an ERROR at once; the ones after
    it for the same reason are counted and told in one line at most a minute later. A
    battery alarm across 2,000 posts with no provider configured is one problem, not 2,000
    log lines; each alert is still recorded, with its outcome, in the alert log table."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._runs: dict[str, tuple[datetime, int]] = {}

    def error(self, reason: str, message: str, *args: object) -> None:
        now = self.clock.now()
        since, held = self._runs.get(reason, (None, 0))
        if since is not None and now - since < QUIET_FOR:
            self._runs[reason] = (since, held + 1)
            return
        if held:
            _LOGGER.error(
                "technician alert NOT SENT for %d more posts since %s, for the same reason "
                "as the one below",
                held,
                since,
            )
        _LOGGER.error(message, *args)
        self._runs[reason] = (now, 0)


def technicians_for(district: District, alert: FleetAlert, when: datetime) -> list[Person]:
    """Who is told of `alert` at `when`: the on-call people of each covering technician
    agency, each once."""
    local = local_time(when, district.district.timezone)
    people: dict[str, Person] = {}
    for agency in district.agencies:
        if agency.kind == "technician" and covers_place(agency, alert.kecamatan, alert.kampung):
            people.update((p.id, p) for p in on_call(agency, local))
    return list(people.values())


def technician_agencies(district: District) -> list[Agency]:
    return [a for a in district.agencies if a.kind == "technician"]


class FleetAlerts:
    """Implements `kentongan_cloud.ports.FleetAlertSink` on the responders' channels."""

    def __init__(
        self,
        district: District,
        channels: Mapping[str, ChannelAdapter],
        log: FleetAlertLog,
        clock: Clock,
    ) -> None:
        self.district = district
        self.channels = channels
        self.log = log
        self.clock = clock
        self._unsent = _UnsentLog(clock)
        if not technician_agencies(district):
            _LOGGER.warning(
                "district %s has no agency of kind technician: fleet alarms reach nobody",
                district.district.id,
            )

    def content(self, alert: FleetAlert, person: Person) -> FleetContent:
        places = self.district.kampung_by_id()
        kec, kampung = places.get(alert.kampung, (None, None))
        return FleetContent(
            alert=alert,
            kampung_name=kampung.name if kampung else alert.kampung,
            kecamatan_name=kec.name if kec else alert.kecamatan,
            timezone=self.district.district.timezone,
            recipient=recipient(self.district, person.id),
        )

    async def alert(self, alert: FleetAlert, idempotency_key: str) -> None:
        """Handle one alert; raises FleetAlertError when somebody could not be reached."""
        [error] = await self.alert_many([(alert, idempotency_key)])
        if error is not None:
            raise error

    async def alert_many(self, alerts: Sequence[tuple[FleetAlert, str]]) -> list[Exception | None]:
        """Handle an outbox pass's alerts in order: per alert None, or the error that leaves
        it for a retry. What was handled before is read in one query; the records of alerts
        that sent nothing (nobody covers the post, no provider) wait and go in one
        transaction with the next send's record or at the end, so a district-wide power cut
        with no technician reachable costs a transaction per pass, not two per post. A
        send's record is written at once: a crash must not tell a person twice."""
        done = await self.log.done_for([key for _, key in alerts])
        waiting: list[dict[str, Any]] = []
        errors: list[Exception | None] = []
        for alert, key in alerts:
            # Alerts that send nothing never suspend (SQLite runs in this thread): give the
            # loop back between them, or the intake waits behind the whole pass.
            await asyncio.sleep(0)
            try:
                await self._handle(alert, key, done.get(key, set()), waiting)
            except Exception as exc:  # the outbox retries this alert alone, not the pass
                errors.append(exc)
            else:
                errors.append(None)
        await self.log.record(waiting)
        return errors

    async def _handle(
        self, alert: FleetAlert, key: str, done: set[str], waiting: list[dict[str, Any]]
    ) -> None:
        if NOBODY in done:
            return
        now = self.clock.now()
        people = technicians_for(self.district, alert, now)
        if not people:
            detail = (
                f"no technician agency covers kecamatan {alert.kecamatan}, kampung {alert.kampung}"
            )
            self._unsent.error(
                f"nobody:{alert.kecamatan}:{alert.kampung}",
                "technician alert NOT SENT for post %s (%s): %s: %s; add an agency of kind "
                "technician to the district file",
                alert.gateway_id,
                alert.kind,
                detail,
                alert.text,
            )
            waiting.append(_record(key, alert, NOBODY, "nobody", detail, now))
            return
        failed: list[str] = []
        for person in people:
            if person.id in done:
                continue
            if not any(ch.type in self.channels for ch in person.channels):
                waiting.append(self._unconfigured(key, alert, person, now))
                continue
            try:
                ch, receipt = await self._first_that_works(person, alert, f"{key}:{person.id}", now)
            except FleetAlertError as exc:
                failed.append(str(exc))
                continue
            _LOGGER.info(
                "technician %s told of %s at %s via %s",
                person.id,
                alert.kind,
                alert.gateway_id,
                receipt.provider,
            )
            sent = _record(key, alert, person.id, "sent", receipt.response[:500], now, ch, receipt)
            await self.log.record([*waiting, sent])
            waiting.clear()
        if failed:
            raise FleetAlertError("; ".join(failed))

    def _unconfigured(
        self, key: str, alert: FleetAlert, person: Person, now: datetime
    ) -> dict[str, Any]:
        types = ", ".join(sorted({ch.type for ch in person.channels})) or "none"
        detail = f"no provider configured for technician {person.id}'s channels ({types})"
        self._unsent.error(
            f"unconfigured:{person.id}",
            "technician alert NOT SENT for post %s (%s): %s; configure a provider for one of them",
            alert.gateway_id,
            alert.kind,
            detail,
        )
        return _record(key, alert, person.id, "unconfigured", detail, now)

    async def _first_that_works(
        self, person: Person, alert: FleetAlert, key: str, now: datetime
    ) -> tuple[Channel, SendReceipt]:
        content = self.content(alert, person)
        problems: list[str] = []
        for ch in person.channels:
            adapter = self.channels.get(ch.type)
            if adapter is None:
                problems.append(f"no {ch.type} provider configured")
                continue
            try:
                return ch, await adapter.send(ch, content, now=now, idempotency_key=key)
            except ChannelError as exc:
                _LOGGER.warning("technician %s via %s failed: %s", person.id, ch.type, exc.detail)
                problems.append(exc.detail)
        msg = f"technician {person.id} not reached: {'; '.join(problems)}"
        raise FleetAlertError(msg)


def _record(
    key: str,
    alert: FleetAlert,
    person_id: str,
    outcome: str,
    detail: str,
    now: datetime,
    ch: Channel | None = None,
    receipt: SendReceipt | None = None,
) -> dict[str, Any]:
    """A row of the alert log: what was done about `alert` for one person (or NOBODY)."""
    return {
        "key": key[:300],
        "person_id": person_id,
        "gateway_id": alert.gateway_id,
        "outcome": outcome,
        "channel_type": ch.type if ch else None,
        "provider": receipt.provider if receipt else None,
        "address": ch.to if ch else None,
        "detail": detail,
        "at_ms": to_ms(now),
    }
