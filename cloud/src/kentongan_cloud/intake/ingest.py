"""One batch of accepted items, committed as one transaction (group commit).

Per batch a handful of statements: the known event_ids, the open incidents the batch touches,
the confirmation peers, the gateways' health; then inserts and updates. Events are handled in
arrival order so a repeat within the batch joins the incident its first press opened.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from kentongan_protocol.payloads import INCIDENT_KINDS

from kentongan_cloud.domain import fleet as fleet_rules
from kentongan_cloud.domain.fleet import FleetChange, GatewayHealth
from kentongan_cloud.domain.geo import BoundingBox
from kentongan_cloud.domain.incident import (
    CONFIRM_WINDOW,
    ActivationIn,
    CancelledPress,
    Change,
    Incident,
    activate,
    cancel_from_edge,
    open_key,
)
from kentongan_cloud.effects import Effects
from kentongan_cloud.intake.classify import (
    EventItem,
    Item,
    StateItem,
    TelemetryItem,
)
from kentongan_cloud.records import CommandAckRecord, EventRecord, ReportRecord
from kentongan_cloud.store.db import Tx
from kentongan_cloud.store.held import holding

_LOGGER = logging.getLogger(__name__)

Outcome = Literal["committed", "duplicate", "ok"]


@dataclass(frozen=True, slots=True)
class ItemResult:
    outcome: Outcome
    incident_id: str | None = None
    event_outcome: str | None = None


@dataclass
class _Batch:
    tx: Tx
    effects: Effects
    now: datetime
    heartbeat_factor: float
    by_id: dict[str, Incident]
    by_key: dict[str, Incident]
    new: list[Incident]
    changed: set[str]
    health: dict[str, GatewayHealth]
    health_changed: set[str]
    fleet_changes: list[FleetChange]
    events: dict[str, EventRecord]
    reports: list[ReportRecord]


async def ingest(
    tx: Tx, items: list[Item], effects: Effects, now: datetime, heartbeat_factor: float
) -> list[ItemResult]:
    """Commit-ready processing of a batch; the caller owns the transaction."""
    ev_ids = [str(i.event.event_id) for i in items if isinstance(i, EventItem)]
    known = await tx.intake.existing_ids(ev_ids)
    gids = sorted({g for i in items if (g := _gateway_of(i)) is not None})
    b = _Batch(
        tx,
        effects,
        now,
        heartbeat_factor,
        {},
        {},
        [],
        set(),
        await tx.fleet.load(gids),
        set(),
        [],
        {},
        [],
    )
    for h in b.health.values():
        fleet_rules.seen(h, now, heartbeat_factor)
        b.health_changed.add(h.gateway_id)
    await _load_incidents(b, [i for i in items if isinstance(i, EventItem)])

    results: list[ItemResult] = []
    cmd_acks: list[CommandAckRecord] = []
    seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in items:
        if isinstance(item, EventItem):
            eid = str(item.event.event_id)
            if eid in known:
                results.append(ItemResult("duplicate"))
                continue
            known.add(eid)
            rec = await _event(b, item)
            b.events[eid] = rec
            if item.site is not None:
                seqs[(item.site.gateway_id, item.event.session_id)].append(item.event.seq)
            results.append(ItemResult("committed", rec.incident_id, rec.outcome))
        elif isinstance(item, StateItem):
            results.append(
                _fleet(
                    b,
                    item.site.gateway_id,
                    lambda g, it=item: fleet_rules.on_state(g, it.state, now),
                )
            )
        elif isinstance(item, TelemetryItem):
            results.append(
                _fleet(
                    b,
                    item.site.gateway_id,
                    lambda g, it=item: fleet_rules.on_telemetry(g, it.telemetry, now),
                )
            )
            _telemetry_point(b, item)
        else:
            cmd_acks.append(
                CommandAckRecord(
                    str(item.ack.command_id),
                    item.site.gateway_id,
                    item.ack.result,
                    item.ack.detail,
                    now,
                )
            )
            results.append(ItemResult("ok"))

    await effects.sirens_acked(tx, await tx.commands.record_acks(cmd_acks), now)
    await effects.fleet_changes(tx, b.fleet_changes)

    # Only writes from here: on PostgreSQL they go as one or two statements (held.py).
    # Changed incidents first, so an open_key another incident gave up is free for a new one.
    new_ids = {i.id for i in b.new}
    async with holding(tx.conn):
        await tx.incidents.save_many([b.by_id[iid] for iid in sorted(b.changed - new_ids)])
        await tx.incidents.add(b.new)
        await tx.intake.add_events(list(b.events.values()))
        await tx.incidents.add_reports(b.reports)
        await tx.intake.track_seqs(seqs, now)
        await tx.fleet.save_many([b.health[gid] for gid in sorted(b.health_changed)])
        await effects.flush(tx, now)
    return results


def _gateway_of(item: Item) -> str | None:
    if isinstance(item, EventItem):
        return item.gateway_id
    return item.site.gateway_id


async def _load_incidents(b: _Batch, items: list[EventItem]) -> None:
    keys, types, statuses, kampungs, boxes = set(), set(), set(), set(), set()
    for i in items:
        ev = i.event
        if ev.kind in INCIDENT_KINDS and ev.incident_type is not None:
            keys.add(open_key(i.post, ev.incident_type, ev.status))
            types.add(ev.incident_type)
            statuses.add(ev.status)
            # Where a peer could confirm this press (activate's rule: same kampung or
            # within the type's radius).
            kampungs.add(i.place.kampung)
            itype = b.effects.directory.incident_type(ev.incident_type)
            if itype is not None and itype.fanout_radius_m > 0:
                boxes.add(BoundingBox.around(i.lat, i.lon, itype.fanout_radius_m))
    found = await b.tx.incidents.for_batch(
        sorted(keys), sorted(types), sorted(statuses), b.now - CONFIRM_WINDOW, kampungs, boxes
    )
    for inc in found:
        _remember(b, inc)


def _remember(b: _Batch, inc: Incident) -> Incident:
    inc = b.by_id.setdefault(inc.id, inc)
    if inc.open_key is not None:
        b.by_key[inc.open_key] = inc
    return inc


def _fleet(b: _Batch, gid: str, rule: object) -> ItemResult:
    g = b.health.get(gid)
    if g is not None:
        b.fleet_changes += rule(g)  # type: ignore[operator]
        b.health_changed.add(gid)
    return ItemResult("ok")


def _telemetry_point(b: _Batch, item: TelemetryItem) -> None:
    b.effects.telemetry_points(item.site.gateway_id, item.telemetry, b.now)


async def _event(b: _Batch, item: EventItem) -> EventRecord:
    ev = item.event
    now = b.now
    actor = f"gateway:{item.gateway_id}" if item.site else f"{ev.source}:{item.post}"
    incident_id: str | None = None
    outcome = "recorded"
    changes: list[Change] = []
    if ev.kind in INCIDENT_KINDS and ev.incident_type is not None:
        itype = b.effects.directory.incident_type(ev.incident_type)
        key = open_key(item.post, ev.incident_type, ev.status)
        existing = b.by_key.get(key)
        peers = [
            i
            for i in b.by_id.values()
            if i.open_key and i.incident_type == ev.incident_type and i.status == ev.status
        ]
        act = ActivationIn(
            event_id=str(ev.event_id),
            post=item.post,
            gateway_id=item.gateway_id,
            post_name=item.site.post_name if item.site else None,
            district=b.effects.directory.district_id,
            kecamatan=item.place.kecamatan,
            kampung=item.place.kampung,
            lat=item.lat,
            lon=item.lon,
            incident_type=ev.incident_type,
            status=ev.status,
            source=ev.source,
            input=ev.input,
            historical=ev.historical,
            occurred_at=ev.occurred_at,
            received_at=now,
        )
        changes = activate(
            existing, peers, act, radius_m=itype.fanout_radius_m if itype else 0, actor=actor
        )
        inc = changes[0].incident
        if existing is None:
            b.new.append(_remember(b, inc))
        incident_id = inc.id
        outcome = (
            "confirmed"
            if any(c.kind == "confirmed" and c.incident is inc for c in changes)
            else changes[0].kind
        )
        # When it happened, if the gateway's clock could tell; else when it arrived.
        b.effects.press_point(inc, ev.historical, ev.occurred_at if ev.clock_synced else now)
        if item.report is not None:
            r = item.report
            b.reports.append(
                ReportRecord(
                    r.tracking_code, inc.id, str(ev.event_id), now, r.name, r.phone, r.description
                )
            )
    elif ev.kind == "cancel" and ev.cancels is not None and item.gateway_id is not None:
        incident_id, outcome, changes = await _cancel(b, item)
    elif item.gateway_id is not None and ev.kind in (
        *fleet_rules.SUPERVISION_EVENTS,
        *fleet_rules.DUTY_EVENTS,
    ):
        _fleet(b, item.gateway_id, lambda g: fleet_rules.on_supervision_event(g, ev.kind, now))
    for c in changes:
        if c.incident.id not in {i.id for i in b.new}:
            b.changed.add(c.incident.id)
    await b.effects.incident_changes(b.tx, changes, now)
    pos = ev.position
    return EventRecord(
        event_id=str(ev.event_id),
        gateway_id=item.gateway_id,
        district=b.effects.directory.district_id,
        source=ev.source,
        kind=ev.kind,
        input=ev.input,
        incident_type=ev.incident_type,
        status=ev.status,
        historical=ev.historical,
        session_id=ev.session_id,
        boot_id=str(ev.boot_id),
        seq=ev.seq,
        monotonic_ms=ev.monotonic_ms,
        occurred_at=ev.occurred_at,
        clock_synced=ev.clock_synced,
        received_at=now,
        incident_id=incident_id,
        outcome=outcome,
        cancels=str(ev.cancels) if ev.cancels else None,
        value=ev.value,
        lat=pos.lat if pos else None,
        lon=pos.lon if pos else None,
        detail=ev.detail,
    )


async def _cancel(b: _Batch, item: EventItem) -> tuple[str | None, str, list[Change]]:
    ev = item.event
    target = str(ev.cancels)
    orig = b.events.get(target) or await b.tx.intake.get_event(target)
    inc: Incident | None = None
    if orig is not None and orig.incident_id is not None:
        inc = b.by_id.get(orig.incident_id) or await b.tx.incidents.get(orig.incident_id)
        if inc is not None:
            inc = _remember(b, inc)
    press = (
        None
        if orig is None
        else CancelledPress(
            orig.event_id, orig.gateway_id, orig.boot_id, orig.monotonic_ms, orig.incident_id
        )
    )
    gid = item.gateway_id or ""
    inc, change, why = cancel_from_edge(
        inc,
        press,
        gateway_id=gid,
        boot_id=str(ev.boot_id),
        monotonic_ms=ev.monotonic_ms,
        window_s=b.effects.directory.cancel_window_s,
        now=b.now,
    )
    if change is None:
        _LOGGER.info("cancel from %s refused: %s", item.gateway_id, why)
        return None, "cancel_refused", []
    if change.kind == "cancelled" and inc is not None:
        b.by_key = {k: v for k, v in b.by_key.items() if v is not inc}
    return (inc.id if inc else None), change.kind, [change]
