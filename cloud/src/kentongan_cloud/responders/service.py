"""The responders' Notifier: a notice becomes pages and queued deliveries in one transaction;
escalation timers live in the same database, so any worker can take the next step."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from kentongan_protocol.provisioning.district import District

from kentongan_cloud.ports import IncidentNotice
from kentongan_cloud.responders import escalation, routing
from kentongan_cloud.responders.clock import Clock, SystemClock, from_ms, to_ms
from kentongan_cloud.responders.escalation import EscalationState, PageOrder
from kentongan_cloud.responders.models import Acknowledgement, AlertContent, Drill
from kentongan_cloud.responders.settings import ResponderSettings
from kentongan_cloud.responders.tokens import LinkSigner, new_page_id, new_reply_code
from kentongan_cloud.store.responders import (
    DrillRow,
    IncidentRow,
    PageRow,
    ResponderStore,
    ResponderTx,
)

_LOGGER = logging.getLogger(__name__)
AckListener = Callable[[Acknowledgement], Awaitable[None]]
_CAS_RETRIES = 8
_ALERT_KINDS = ("alert", "reminder", "escalation", "update")


class ConflictError(RuntimeError):
    """Another worker changed the incident first; the transaction is retried."""


class ResponderCore:
    """State shared by the notifier, the escalation sweep and acknowledgements."""

    def __init__(
        self,
        *,
        store: ResponderStore,
        district: District,
        settings: ResponderSettings,
        clock: Clock | None = None,
        on_ack: AckListener | None = None,
    ) -> None:
        self.store = store
        self.district = district
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.on_ack = on_ack
        self.signer = LinkSigner(settings.ack_secret.get_secret_value().encode())
        self.timeout_ms = district.escalation.ack_timeout_s * 1000
        # Set by the worker in this process so new messages go out without waiting a poll.
        self.on_queued: Callable[[], None] | None = None

    def ack_url(self, page_id: str) -> str:
        expires = self.clock.now() + timedelta(seconds=self.settings.link_ttl_s)
        return f"{self.settings.public_url.rstrip('/')}/t/{self.signer.sign(page_id, expires)}"

    async def _page(
        self, tx: ResponderTx, incident_id: str, person_id: str, now_ms: int
    ) -> PageRow:
        page = await tx.page_of(incident_id, person_id)
        if page is not None:
            return page
        code = new_reply_code()
        while await tx.page_by_code(code) is not None:
            code = new_reply_code()
        agency, _ = routing.people_by_id(self.district)[person_id]
        page = PageRow(
            new_page_id(), incident_id, person_id, agency.id, code, now_ms, None, None, None
        )
        await tx.insert_page(page)
        return page

    async def enqueue(
        self,
        tx: ResponderTx,
        notice: IncidentNotice,
        state: EscalationState,
        orders: list[PageOrder],
        key: str,
        now_ms: int,
    ) -> None:
        """Pages and deliveries for `orders`; the delivery key makes a repeat a no-op."""
        told = state.told_agencies()
        facts = routing.facts(self.district, notice)
        for order in orders:
            page = await self._page(tx, notice.incident_id, order.person_id, now_ms)
            rec = routing.recipient(self.district, order.person_id)
            live = order.kind != "closed" and page.acked_ms is None
            content = AlertContent(
                kind=order.kind,
                notice=notice,
                facts=facts,
                recipient=rec,
                also_told=[a for a in told if a != rec.agency_name],
                not_answered_by=list(order.not_answered_by),
                ack_url=self.ack_url(page.id) if live else None,
                reply_code=page.reply_code if live else None,
                round=order.round,
            )
            await tx.insert_delivery(
                {
                    "key": f"{key}:{order.person_id}:{order.kind}:{order.round}"[:400],
                    "incident_id": notice.incident_id,
                    "page_id": page.id,
                    "person_id": order.person_id,
                    "kind": order.kind,
                    "content_json": content.model_dump_json(),
                    "channels_json": json.dumps([c.model_dump(mode="json") for c in rec.channels]),
                    "channel_index": 0,
                    "attempt": 0,
                    "status": "pending",
                    "next_attempt_ms": now_ms,
                    "lease_until_ms": None,
                    "created_ms": now_ms,
                    "sent_ms": None,
                }
            )

    def status_of(self, state: EscalationState) -> str:
        if state.waiting:
            return "open"
        answered = state.closed or all(t.acked_by for t in state.ladders() if t.rounds)
        return "done" if answered else "unanswered"


class ResponderService(ResponderCore):
    """Implements the core's `Notifier`, and the escalation sweep."""

    async def _drill_for(
        self, tx: ResponderTx, notice: IncidentNotice, at_ms: int
    ) -> DrillRow | None:
        for drill in await tx.drills_at(notice.district, at_ms):
            if drill.kecamatan not in (None, notice.kecamatan):
                continue
            if drill.kampung not in (None, notice.kampung):
                continue
            return drill
        return None

    async def notify(self, notice: IncidentNotice, idempotency_key: str) -> None:
        """Plan and queue the messages for a notice. Called at least once per key by the
        core's outbox; a repeated key changes nothing."""
        for _ in range(_CAS_RETRIES):
            try:
                await self._notify(notice, idempotency_key)
            except ConflictError:
                continue
            if self.on_queued is not None:
                self.on_queued()
            return
        msg = f"incident {notice.incident_id}: too many concurrent changes"
        raise ConflictError(msg)

    async def _notify(self, notice: IncidentNotice, key: str) -> None:
        now = self.clock.now()
        now_ms = to_ms(now)
        async with self.store.begin() as tx:
            if not await tx.insert_notice(key, notice.incident_id, notice.reason, now_ms):
                _LOGGER.info("notice %s seen before: nothing to do", key)
                return
            row = await tx.incident(notice.incident_id, lock=True)
            if row is None:
                await self._first(tx, notice, key, now_ms)
                return
            if row.status == "silent":
                return
            state = EscalationState.model_validate_json(row.state_json)
            old = IncidentNotice.model_validate_json(row.notice_json)
            orders: list[PageOrder] = []
            if notice.reason in ("cancelled", "closed"):
                await tx.cancel_deliveries(notice.incident_id, _ALERT_KINDS)
                orders = (
                    []
                    if state.closed and notice.reason == old.reason
                    else escalation.everyone(state, "closed")
                )
                state.closed = True
            elif notice.reason == "escalated":
                orders = escalation.escalate_now(state)
            elif notice.confirmed and not old.confirmed:
                orders = escalation.everyone(state, "update")
            status = self.status_of(state)
            due = row.next_due_ms if state.waiting else None
            if state.waiting and due is None:
                due = now_ms + self.timeout_ms
            ok = await tx.save_incident(
                row,
                status="done" if state.closed else status,
                next_due_ms=due,
                notice_json=notice.model_dump_json(),
                state_json=state.model_dump_json(),
            )
            if not ok:
                raise ConflictError(notice.incident_id)
            await self.enqueue(tx, notice, state, orders, key, now_ms)

    async def _first(self, tx: ResponderTx, notice: IncidentNotice, key: str, now_ms: int) -> None:
        drill_row = (
            await self._drill_for(tx, notice, now_ms) if notice.status == "exercise" else None
        )
        drill = None
        if drill_row is not None:
            drill = Drill.model_validate(
                {
                    "id": drill_row.id,
                    "name": drill_row.name,
                    "district": drill_row.district,
                    "starts_at": _iso(drill_row.starts_ms),
                    "ends_at": _iso(drill_row.ends_ms),
                    "kecamatan": drill_row.kecamatan,
                    "kampung": drill_row.kampung,
                    "participants": json.loads(drill_row.participants_json),
                }
            )
        plan = routing.plan(self.district, notice, self.clock.now(), drill)
        if plan.empty or notice.reason in ("cancelled", "closed"):
            _LOGGER.info(
                "incident %s (%s, %s): nobody to page",
                notice.incident_id,
                notice.status,
                notice.reason,
            )
            state = EscalationState(tracks=[], command_centre=None, feeds=[])
            orders: list[PageOrder] = []
            status = "silent"
        else:
            state, orders = escalation.start(plan)
            status = self.status_of(state)
        await tx.insert_incident(
            IncidentRow(
                incident_id=notice.incident_id,
                district=notice.district,
                status=status,
                next_due_ms=now_ms + self.timeout_ms if state.waiting else None,
                version=1,
                notice_json=notice.model_dump_json(),
                state_json=state.model_dump_json(),
                drill_id=drill.id if drill else None,
                created_ms=now_ms,
            )
        )
        await self.enqueue(tx, notice, state, orders, key, now_ms)

    async def escalate_due(self, limit: int = 50) -> int:
        """Take every incident whose acknowledgement timer has run out one step further."""
        now_ms = to_ms(self.clock.now())
        async with self.store.begin() as tx:
            due = await tx.due_incidents(now_ms, limit)
        done = 0
        for incident_id in due:
            try:
                done += await self._tick(incident_id, now_ms)
            except ConflictError:
                _LOGGER.info("incident %s: another worker took this step", incident_id)
        return done

    async def _tick(self, incident_id: str, now_ms: int) -> int:
        async with self.store.begin() as tx:
            row = await tx.incident(incident_id, lock=True, skip_locked=True)
            if row is None or row.next_due_ms is None or row.next_due_ms > now_ms:
                return 0
            state = EscalationState.model_validate_json(row.state_json)
            notice = IncidentNotice.model_validate_json(row.notice_json)
            orders = escalation.tick(state, self.district.escalation.max_rounds)
            due = row.next_due_ms + self.timeout_ms if state.waiting else None
            if not await tx.save_incident(
                row,
                status=self.status_of(state),
                next_due_ms=due,
                notice_json=row.notice_json,
                state_json=state.model_dump_json(),
            ):
                raise ConflictError(incident_id)
            key = f"esc:{incident_id}:{row.version}"
            _LOGGER.info(
                "incident %s: escalation step %d, %d message(s)",
                incident_id,
                row.version,
                len(orders),
            )
            await self.enqueue(tx, notice, state, orders, key, now_ms)
            return 1

    async def schedule_drill(self, drill: Drill) -> None:
        """Register an exercise: `status=exercise` incidents in its area and time page only
        its participants. Unknown participant ids are refused."""
        known = {a.id for a in self.district.agencies} | set(routing.people_by_id(self.district))
        unknown = sorted(set(drill.participants) - known)
        if unknown:
            msg = f"drill {drill.id}: unknown participants {unknown}"
            raise ValueError(msg)
        async with self.store.begin() as tx:
            await tx.insert_drill(
                DrillRow(
                    id=drill.id,
                    district=drill.district,
                    name=drill.name,
                    kecamatan=drill.kecamatan,
                    kampung=drill.kampung,
                    starts_ms=to_ms(drill.starts_at),
                    ends_ms=to_ms(drill.ends_at),
                    participants_json=json.dumps(drill.participants),
                )
            )


def _iso(ms: int) -> str:
    return from_ms(ms).isoformat()
