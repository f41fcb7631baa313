"""Side effects of incident and fleet changes, as outbox rows in the same transaction.

Who is told what:
- actual incidents page responders; exercise and test incidents page nobody and sound
  nothing, but still leave points and annotations tagged with their status;
- a post's panic pages after the district's cancel window (the guard may still call it off);
  a backlog (historical) panic pages at once with its age and never sounds sirens;
- a confirmation pages at once and sounds the neighbours, except for residents' reports,
  whose sirens only an operator starts.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast, get_args

from kentongan_protocol.payloads import Telemetry

from kentongan_cloud.domain.fleet import FleetChange
from kentongan_cloud.domain.incident import CLOSING, CONFIRMING_SOURCES, Change, Incident
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.fanout import Fanout
from kentongan_cloud.ports import Annotation, FleetAlert, IncidentNotice, NoticeReason, TimePoint
from kentongan_cloud.records import (
    AuditEntry,
    CommandAckRecord,
    CommandRecord,
    OutboxItem,
    OutboxKind,
)
from kentongan_cloud.store.db import Tx
from kentongan_cloud.store.fleet import AlarmRaise
from kentongan_cloud.timeseries import measurements

_LOGGER = logging.getLogger(__name__)

# Technicians hear at once of these; of "offline" only after minutes (against flapping links).
IMMEDIATE_ALERTS = frozenset({"mains_lost", "battery_low", "tamper", "siren_fault"})
REALERT_AFTER = timedelta(minutes=60)  # the default of fleet.realert_after_min


def notice_key(incident_id: str, reason: str) -> str:
    return f"notice:{incident_id}:{reason}"


@dataclass
class Effects:
    """Collects the outbox rows, commands and audit lines of one transaction."""

    directory: Directory
    fanout: Fanout
    # How long after telling the technicians of an alarm its return stays quiet.
    realert_after: timedelta = REALERT_AFTER
    # Kinds no process of this deployment delivers (no InfluxDB, no Grafana, no responders):
    # left unwritten, or they would wait in the outbox forever, a row per event.
    undelivered: frozenset[OutboxKind] = frozenset()
    outbox: list[OutboxItem] = field(default_factory=list)
    commands: list[CommandRecord] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    # The kinds of outbox rows flushed so far: an outbox worker that delivers none of them
    # need not look for work after the commit.
    kinds_written: set[OutboxKind] = field(default_factory=set)

    @classmethod
    def build(
        cls,
        directory: Directory,
        command_expiry_s: int,
        undelivered: frozenset[OutboxKind] = frozenset(),
        realert_after: timedelta = REALERT_AFTER,
    ) -> Effects:
        """A fresh collector for one transaction, its sirens expiring after `command_expiry_s`."""
        fanout = Fanout(directory, command_expiry_s)
        return cls(directory, fanout, realert_after=realert_after, undelivered=undelivered)

    async def flush(self, tx: Tx, now: datetime) -> None:
        await tx.incidents.audit(self.audit)
        await tx.commands.add(self.commands)
        if self.undelivered:
            self.outbox = [o for o in self.outbox if o.kind not in self.undelivered]
        await tx.outbox.add(self.outbox, now)
        self.kinds_written.update(o.kind for o in self.outbox)
        self.outbox, self.commands, self.audit = [], [], []

    # --- incidents ---------------------------------------------------------------------------

    def _notice(self, inc: Incident, reason: NoticeReason, now: datetime, delay_s: float) -> None:
        itype = self.directory.incident_type(inc.incident_type)
        place = self.directory.places.get(inc.kampung)
        notice = IncidentNotice(
            incident_id=inc.id,
            reason=reason,
            incident_type=inc.incident_type,
            type_label=itype.label if itype else inc.incident_type,
            state=inc.state,
            status=inc.status,
            confirmed=inc.confirmed,
            historical=inc.historical,
            count=inc.count,
            source=inc.source,
            district=inc.district,
            kecamatan=inc.kecamatan,
            kampung=inc.kampung,
            kampung_name=place.kampung_name if place else inc.kampung,
            post_name=inc.post_name,
            gateway_id=inc.gateway_id,
            lat=inc.lat,
            lon=inc.lon,
            opened_at=inc.opened_at,
            first_occurred_at=inc.first_occurred_at,
        )
        not_before = now + timedelta(seconds=delay_s) if delay_s > 0 else None
        self.outbox.append(
            OutboxItem(
                "notification", notice_key(inc.id, reason), notice.model_dump_json(), not_before
            )
        )

    def _point(self, point: TimePoint) -> None:
        self.outbox.append(OutboxItem("point", f"point:{uuid.uuid4()}", point.model_dump_json()))

    def _step_point(self, ch: Change) -> None:
        inc = ch.incident
        if ch.kind not in _STEPS:
            return  # joins, notes and the like are not steps of the dashboards' schema
        self._point(
            measurements.incident_step(
                incident_place(inc),
                incident_type=inc.incident_type,
                step=cast(measurements.IncidentStep, ch.kind),
                source=inc.source,
                opened_at=inc.opened_at,
                at=ch.at,
                status=inc.status,
            )
        )

    def _annotate(self, ch: Change, text: str) -> None:
        inc = ch.incident
        ann = Annotation(
            time=ch.at,
            text=text,
            tags=["kentongan", inc.incident_type, inc.status, ch.kind, inc.kampung],
        )
        key = f"annotation:{inc.id}:{ch.kind}:{inc.version}:{len(self.outbox)}"
        self.outbox.append(OutboxItem("annotation", key, ann.model_dump_json()))

    async def _follow_up(self, tx: Tx, inc: Incident, reason: NoticeReason, now: datetime) -> None:
        """Withdraw a page still waiting out the cancel window; otherwise tell the update."""
        sent = False
        for first in ("opened", "historical", "confirmed"):
            key = notice_key(inc.id, first)
            if any(i.key == key for i in self.outbox):  # not even committed yet
                self.outbox = [i for i in self.outbox if i.key != key]
                continue
            state = await tx.outbox.state_of(key)
            if state == "pending" and await tx.outbox.void(key, now):
                continue
            sent = sent or state in ("pending", "delivered")
        if sent:
            self._notice(inc, reason, now, 0)

    async def _silence(self, tx: Tx, inc: Incident, now: datetime) -> None:
        if not inc.sirens_on:
            return
        sounded = {
            c.target for c in await tx.commands.for_alarm(inc.alarm_id) if c.action == "siren_on"
        }
        items, recs = self.fanout.sirens_off(inc, sorted(sounded), now)
        self.outbox += items
        self.commands += recs

    def _sound(self, inc: Incident, now: datetime) -> None:
        exclude = {inc.gateway_id} if inc.gateway_id else set()
        items, recs = self.fanout.sirens_on(inc, now, exclude=exclude)
        self.outbox += items
        self.commands += recs

    async def incident_changes(self, tx: Tx, changes: list[Change], now: datetime) -> None:
        for ch in changes:
            await self.incident_change(tx, ch, now)

    async def incident_change(self, tx: Tx, ch: Change, now: datetime) -> None:
        inc = ch.incident
        self.audit.append(AuditEntry(inc.id, ch.at, ch.actor, ch.kind, ch.detail))
        if ch.kind != "note":
            self._step_point(ch)
        label = f"{inc.incident_type} at {inc.post_name or inc.kampung}"
        if ch.kind in ("opened", "went_live", "confirmed"):
            self._raised(ch, label, now)
        elif ch.kind in CLOSING:
            self._annotate(ch, f"{ch.kind.replace('_', ' ').capitalize()}: {label}")
            await self._silence(tx, inc, now)
            if inc.status == "actual":
                reason: NoticeReason = "cancelled" if ch.kind == "cancelled" else "closed"
                await self._follow_up(tx, inc, reason, now)
        elif ch.kind == "sirens_started":
            if inc.is_open and not inc.sirens_on:
                self._sound(inc, now)
        elif ch.kind == "sirens_stopped":
            await self._silence(tx, inc, now)
        elif ch.kind in ("acknowledged", "dispatched"):
            self._annotate(ch, f"{ch.kind.capitalize()} by {ch.actor}: {label}")

    def _raised(self, ch: Change, label: str, now: datetime) -> None:
        """Opened, went live or confirmed: who is paged when, and whether sirens sound."""
        inc = ch.incident
        actual = inc.status == "actual"
        window = self.directory.cancel_window_s
        if ch.kind == "opened":
            self._annotate(ch, f"Opened: {label}")
            if actual and inc.historical:
                self._notice(inc, "historical", now, 0)
            elif actual:
                gated = inc.source in CONFIRMING_SOURCES
                self._notice(inc, "opened", now, window if gated else 0)
        elif ch.kind == "went_live":
            if actual:
                self._notice(inc, "opened", now, window)
        else:
            self._annotate(ch, f"Confirmed: {label}")
            if actual:
                self._notice(inc, "confirmed", now, 0)
                live = not inc.historical and inc.source in CONFIRMING_SOURCES
                if ch.sound and live and inc.is_open and not inc.sirens_on:
                    self._sound(inc, now)

    # --- fleet -------------------------------------------------------------------------------

    def press_point(self, inc: Incident, historical: bool, at: datetime) -> None:
        """A panic pressed at a post (phone and web reports are no button presses)."""
        if inc.gateway_id is None:
            return
        self._point(
            measurements.press(
                incident_place(inc),
                kind="panic",
                at=at,
                status=inc.status,
                incident_type=inc.incident_type,
                historical=historical,
            )
        )

    def site_place(self, gateway_id: str) -> measurements.Place:
        site = self.directory.sites.get(gateway_id) or self.directory.revoked_sites.get(gateway_id)
        if site is None:
            msg = f"gateway {gateway_id} is not in the directory"
            raise KeyError(msg)
        return measurements.Place(
            self.directory.district_id, site.place.kecamatan, site.place.kampung, gateway_id
        )

    def telemetry_points(self, gateway_id: str, telemetry: Telemetry, at: datetime) -> None:
        for point in measurements.telemetry_points(
            self.site_place(gateway_id), telemetry, received_at=at
        ):
            self._point(point)

    async def sirens_acked(self, tx: Tx, acks: list[CommandAckRecord], now: datetime) -> None:
        """Posts switched their sirens as told: a `siren` point each, at the ack's arrival."""
        done = [a for a in acks if a.result == "done"]
        cmds = await tx.commands.get_many([a.command_id for a in done])
        durations: dict[str, int | None] = {}
        for ack in done:
            cmd = cmds.get(ack.command_id)
            if cmd is None or cmd.action not in _SIREN_ACTIONS:
                continue
            on = cmd.action in ("siren_on", "area_alarm")
            trigger: measurements.SirenTrigger = (
                "confirmed"
                if cmd.incident_id is not None
                else "all_clear"
                if cmd.action == "all_clear"
                else "area_alarm"
            )
            if cmd.alarm_id not in durations:
                durations[cmd.alarm_id] = await self._siren_duration(tx, cmd)
            try:
                place = self.site_place(ack.gateway_id)
            except KeyError:
                continue
            duration = durations[cmd.alarm_id] if on else None
            self._point(
                measurements.siren(place, on=on, trigger=trigger, at=now, duration_s=duration)
            )

    async def _siren_duration(self, tx: Tx, cmd: CommandRecord) -> int | None:
        """How long an "on" sounds: the incident type's limit, or the area alarm's."""
        if cmd.incident_id is not None:
            inc = await tx.incidents.get(cmd.incident_id)
            itype = self.directory.incident_type(inc.incident_type) if inc else None
            return itype.max_siren_s if itype else None
        alarm = await tx.commands.area_alarm(cmd.alarm_id)
        return alarm.duration_s if alarm else None

    def fleet_alert(self, gateway_id: str, kind: str, raised_at: datetime, text: str) -> None:
        site = self.directory.sites.get(gateway_id)
        if site is None:
            return
        alert = FleetAlert(
            gateway_id=gateway_id,
            post_name=site.post_name,
            kecamatan=site.place.kecamatan,
            kampung=site.place.kampung,
            kind=kind,
            raised_at=raised_at,
            text=text,
        )
        key = f"fleet:{gateway_id}:{kind}:{raised_at.isoformat()}"
        self.outbox.append(OutboxItem("fleet_alert", key, alert.model_dump_json()))

    async def fleet_changes(self, tx: Tx, changes: list[FleetChange]) -> None:
        """Points, alerts and alarm rows for a batch's fleet changes. Alarms are written in
        bulk; an alarm raised and cleared (or cleared and raised) within the batch writes
        what came first before it takes the second, so the history keeps both."""
        raises: dict[str, AlarmRaise] = {}
        clears: dict[str, tuple[str, str, datetime]] = {}
        last_alert = await self._last_alerts(tx, changes)
        quiet: list[str] = []

        async def write_alarms() -> None:
            await tx.fleet.raise_alarms(list(raises.values()))
            for at in sorted({c[2] for c in clears.values()}):
                await tx.fleet.clear_alarms([(g, k) for g, k, t in clears.values() if t == at], at)
            raises.clear()
            clears.clear()

        for ch in changes:
            if ch.kind in ("online", "offline"):
                self._point(
                    measurements.gateway_online(
                        self.site_place(ch.gateway_id),
                        online=ch.kind == "online",
                        reason=_online_reason(ch),
                        at=ch.at,
                    )
                )
            elif ch.kind == "alarm_raised" and ch.alarm is not None:
                key = f"{ch.gateway_id}|{ch.alarm}"
                if key in clears:
                    await write_alarms()
                alert = False
                if ch.alarm in IMMEDIATE_ALERTS:
                    last = last_alert.get((ch.gateway_id, ch.alarm))
                    alert = last is None or ch.at - last >= self.realert_after
                    if alert:
                        last_alert[ch.gateway_id, ch.alarm] = ch.at
                        self.fleet_alert(ch.gateway_id, ch.alarm, ch.at, _alert_text(ch.alarm))
                    else:
                        quiet.append(f"{ch.alarm} at {ch.gateway_id}")
                raises.setdefault(
                    key, AlarmRaise(ch.gateway_id, ch.alarm, ch.at, ch.detail, alerted=alert)
                )
            elif ch.kind == "alarm_cleared" and ch.alarm is not None:
                key = f"{ch.gateway_id}|{ch.alarm}"
                if key in raises:
                    await write_alarms()
                clears.setdefault(key, (ch.gateway_id, ch.alarm, ch.at))
            elif ch.kind == "duty":
                on = ch.detail == "on duty"
                self._point(
                    measurements.press(
                        self.site_place(ch.gateway_id),
                        kind="duty_check_in" if on else "duty_check_out",
                        at=ch.at,
                    )
                )
        await write_alarms()
        if quiet:
            _LOGGER.info(
                "%d alarms came back within %s of telling the technicians: not told again (%s)",
                len(quiet),
                self.realert_after,
                ", ".join(quiet[:5]) + (", …" if len(quiet) > 5 else ""),
            )

    async def _last_alerts(
        self, tx: Tx, changes: list[FleetChange]
    ) -> dict[tuple[str, str], datetime]:
        """When each alarm about to be raised last alerted the technicians (one query)."""
        raised = [
            ch for ch in changes if ch.kind == "alarm_raised" and ch.alarm in IMMEDIATE_ALERTS
        ]
        if not raised or not self.realert_after:
            return {}
        pairs = {(ch.gateway_id, str(ch.alarm)) for ch in raised}
        since = min(ch.at for ch in raised) - self.realert_after
        return await tx.fleet.last_alerted(pairs, since)


_STEPS = frozenset(get_args(measurements.IncidentStep))


_SIREN_ACTIONS = ("siren_on", "siren_off", "area_alarm", "all_clear")


def incident_place(inc: Incident) -> measurements.Place:
    return measurements.Place(inc.district, inc.kecamatan, inc.kampung, inc.gateway_id)


def _online_reason(ch: FleetChange) -> measurements.OnlineReason:
    if ch.kind == "online":
        return "heartbeat" if ch.detail == "heartbeat" else "birth"
    return "will" if ch.detail == "last_will" else "heartbeat_timeout"


def _alert_text(kind: str) -> str:
    return {
        "offline": "Gateway offline (tidak terhubung)",
        "mains_lost": "Listrik PLN padam; berjalan dengan aki",
        "battery_low": "Aki lemah",
        "tamper": "Kotak gateway dibuka (tamper)",
        "siren_fault": "Sirene tidak menarik arus (gangguan sirene)",
    }.get(kind, kind)


def alert_text(kind: str) -> str:
    """The technician's words for an alarm kind (Bahasa Indonesia)."""
    return _alert_text(kind)
