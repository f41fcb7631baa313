"""Acknowledgements: by signed link, by reply keyword (SMS, Telegram, WhatsApp), by an
operator in the console. Each is recorded (who, when, channel) and stops that agency's
escalation; the command centre answering stops all of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from kentongan_cloud.ports import IncidentNotice
from kentongan_cloud.responders import escalation, routing
from kentongan_cloud.responders.clock import from_ms, to_ms
from kentongan_cloud.responders.errors import AckRefusedError
from kentongan_cloud.responders.escalation import EscalationState
from kentongan_cloud.responders.models import AckChannel, Acknowledgement, DeliveryAttempt
from kentongan_cloud.responders.service import _CAS_RETRIES, ConflictError, ResponderCore
from kentongan_cloud.responders.tokens import REPLY_ALPHABET, REPLY_CODE_LEN, device_hash
from kentongan_cloud.store.responders import AckRow, PageRow, ResponderTx

_REPLY = re.compile(
    rf"^\s*(?:TERIMA|TRM|SIAP|OK)\b[\s:.,-]*([{REPLY_ALPHABET}]{{{REPLY_CODE_LEN}}})?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LinkView:
    """What the link's page shows before the tap."""

    notice: IncidentNotice
    person_name: str
    agency_name: str
    acked_at: datetime | None
    ack_channel: str | None


@dataclass(frozen=True)
class AckOutcome:
    ack: Acknowledgement
    already: bool


@dataclass(frozen=True)
class ReplyOutcome:
    ok: bool
    reply: str
    ack: Acknowledgement | None = None


def same_address(channel_type: str, a: str, b: str) -> bool:
    """Phone numbers compare by digits with 0… read as +62…; chat ids as written."""
    if channel_type in ("sms", "sms_modem", "whatsapp"):

        def digits(x: str) -> str:
            d = re.sub(r"\D", "", x)
            return "62" + d[1:] if d.startswith("0") else d

        return digits(a) == digits(b)
    return a.strip() == b.strip()


class AckDesk:
    """Records acknowledgements and answers questions about them."""

    def __init__(self, core: ResponderCore) -> None:
        self.core = core

    def _ack(self, row: AckRow, first: bool) -> Acknowledgement:
        names = routing.people_by_id(self.core.district)
        agency_person = names.get(row.person_id)
        agency = next((a for a in self.core.district.agencies if a.id == row.agency_id), None)
        return Acknowledgement(
            incident_id=row.incident_id,
            person_id=row.person_id,
            person_name=agency_person[1].name if agency_person else row.person_id,
            agency_id=row.agency_id,
            agency_name=agency.name if agency else row.agency_id,
            channel=row.channel,
            at=from_ms(row.at_ms),
            first=first,
        )

    async def _record(
        self, tx: ResponderTx, page: PageRow, channel: AckChannel, device: str | None
    ) -> Acknowledgement | None:
        now_ms = to_ms(self.core.clock.now())
        if not await tx.mark_page_acked(page.id, now_ms, channel, device):
            return None
        row = await tx.incident(page.incident_id, lock=True)
        if row is None:
            msg = f"page {page.id} without incident"
            raise AckRefusedError("unknown", msg)
        state = EscalationState.model_validate_json(row.state_json)
        escalation.acknowledge(state, page.person_id)
        first = not await tx.acks_of(page.incident_id)
        ack_row = AckRow(page.incident_id, page.id, page.person_id, page.agency_id, channel, now_ms)
        await tx.insert_ack(ack_row)
        if not await tx.save_incident(
            row,
            status=self.core.status_of(state),
            next_due_ms=row.next_due_ms if state.waiting else None,
            notice_json=row.notice_json,
            state_json=state.model_dump_json(),
        ):
            raise ConflictError(page.incident_id)
        return self._ack(ack_row, first)

    async def _notify_listener(self, ack: Acknowledgement) -> None:
        if self.core.on_ack is not None:
            await self.core.on_ack(ack)

    async def view(self, token: str) -> LinkView:
        """The incident behind a link, for the page shown before the tap."""
        claim = self.core.signer.verify(token, self.core.clock.now())
        async with self.core.store.begin() as tx:
            page = await tx.page(claim.page_id)
            row = await tx.incident(page.incident_id) if page else None
        if page is None or row is None:
            raise AckRefusedError("forged", "no such page")
        rec = routing.recipient(self.core.district, page.person_id)
        return LinkView(
            notice=IncidentNotice.model_validate_json(row.notice_json),
            person_name=rec.name,
            agency_name=rec.agency_name,
            acked_at=from_ms(page.acked_ms) if page.acked_ms else None,
            ack_channel=page.ack_channel,
        )

    async def by_link(self, token: str, device_secret: str) -> AckOutcome:
        """Acknowledge for the person the link was sent to. The first browser to use it owns
        it: the same browser again gets "already", any other is refused as reused."""
        claim = self.core.signer.verify(token, self.core.clock.now())
        device = device_hash(device_secret)
        for _ in range(_CAS_RETRIES):
            try:
                async with self.core.store.begin() as tx:
                    page = await tx.page(claim.page_id)
                    if page is None:
                        raise AckRefusedError("forged", "no such page")
                    ack = await self._record(tx, page, "link", device)
                    if ack is None:
                        page = await tx.page(claim.page_id)
                        assert page is not None  # noqa: S101 - just read in this transaction
                        if page.ack_channel == "link" and page.ack_device != device:
                            raise AckRefusedError("reused", "link already used on another device")
                        rows = [
                            a for a in await tx.acks_of(page.incident_id) if a.page_id == page.id
                        ]
                        return AckOutcome(self._ack(rows[0], first=False), already=True)
            except ConflictError:
                continue
            await self._notify_listener(ack)
            return AckOutcome(ack, already=False)
        raise ConflictError(token)

    async def by_reply(self, channel_type: AckChannel, sender: str, text: str) -> ReplyOutcome:
        """A reply like "TERIMA K7Q2MD" (or just "TERIMA" when one incident waits)."""
        match = _REPLY.match(text)
        if not match:
            return ReplyOutcome(False, "Balas dengan: TERIMA <kode> (kode ada di pesan kejadian).")
        code = (match.group(1) or "").upper()
        people = [
            pid
            for pid, (_, person) in routing.people_by_id(self.core.district).items()
            if any(
                c.type == channel_type and same_address(channel_type, c.to, sender)
                for c in person.channels
            )
        ]
        for _ in range(_CAS_RETRIES):
            try:
                async with self.core.store.begin() as tx:
                    if code:
                        page = await tx.page_by_code(code)
                        if page is None:
                            return ReplyOutcome(False, f"Kode {code} tidak dikenal.")
                        if page.person_id not in people:
                            return ReplyOutcome(False, f"Kode {code} bukan untuk nomor ini.")
                    else:
                        waiting = await tx.open_pages(people)
                        if len({p.incident_id for p in waiting}) != 1:
                            return ReplyOutcome(
                                False, "Ada beberapa kejadian atau tidak ada: balas TERIMA <kode>."
                            )
                        page = waiting[0]
                    ack = await self._record(tx, page, channel_type, None)
            except ConflictError:
                continue
            if ack is None:
                return ReplyOutcome(True, "Sudah diterima sebelumnya. Terima kasih.")
            await self._notify_listener(ack)
            return ReplyOutcome(
                True, f"Diterima: {ack.person_name}. Terima kasih, segera tindak lanjuti.", ack
            )
        raise ConflictError(sender)

    async def by_operator(self, incident_id: str, operator: str) -> None:
        """An operator took the incident in the console: escalation stops."""
        for _ in range(_CAS_RETRIES):
            async with self.core.store.begin() as tx:
                row = await tx.incident(incident_id, lock=True)
                if row is None:
                    return
                state = EscalationState.model_validate_json(row.state_json)
                state.closed = True
                now_ms = to_ms(self.core.clock.now())
                cc = self.core.district.escalation.command_centre
                await tx.insert_ack(
                    AckRow(incident_id, None, f"operator:{operator}"[:64], cc, "operator", now_ms)
                )
                if await tx.save_incident(
                    row,
                    status="done",
                    next_due_ms=None,
                    notice_json=row.notice_json,
                    state_json=state.model_dump_json(),
                ):
                    return
        raise ConflictError(incident_id)

    async def acknowledgements(self, incident_id: str) -> list[Acknowledgement]:
        """Who acknowledged, when and through which channel, first one first."""
        async with self.core.store.begin() as tx:
            rows = await tx.acks_of(incident_id)
        return [self._ack(r, first=i == 0) for i, r in enumerate(rows)]

    async def delivery_log(self, incident_id: str) -> list[DeliveryAttempt]:
        """Every attempt to deliver a message for the incident, with the provider's answer."""
        async with self.core.store.begin() as tx:
            rows = await tx.attempts_of(incident_id)
        return [
            DeliveryAttempt(
                incident_id=r.incident_id,
                person_id=r.person_id,
                kind=r.kind,
                channel_type=r.channel_type,
                provider=r.provider,
                address=r.address,
                attempt=r.attempt,
                outcome=r.outcome,
                status=r.status,
                provider_message_id=r.provider_message_id,
                response=r.response,
                at=from_ms(r.at_ms),
            )
            for r in rows
        ]
