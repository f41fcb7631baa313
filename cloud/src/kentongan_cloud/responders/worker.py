"""The delivery worker: takes due messages from the database under a lease, sends each on the
person's channels in order (retrying transient failures with back-off, then moving on),
respects per-provider rate limits kept in the database, and logs every attempt."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping

from kentongan_protocol.provisioning.district import Channel

from kentongan_cloud.responders.channels.base import ChannelAdapter
from kentongan_cloud.responders.clock import to_ms
from kentongan_cloud.responders.errors import (
    ChannelError,
    PermanentChannelError,
    TransientChannelError,
)
from kentongan_cloud.responders.models import AlertContent
from kentongan_cloud.responders.service import ResponderService
from kentongan_cloud.store.responders import AttemptRow, DeliveryRow
from kentongan_cloud.waiting import wait_set

_LOGGER = logging.getLogger(__name__)


class DeliveryWorker:
    """One of any number of workers sharing the database; none keeps state of its own."""

    def __init__(
        self,
        service: ResponderService,
        channels: Mapping[str, ChannelAdapter],
        *,
        batch: int = 20,
    ) -> None:
        self.service = service
        self.channels = dict(channels)
        self.batch = batch
        self.wake = asyncio.Event()

    @property
    def _clock_ms(self) -> int:
        return to_ms(self.service.clock.now())

    async def _log(
        self,
        d: DeliveryRow,
        ch: Channel,
        provider: str,
        attempt: int,
        outcome: str,
        err: ChannelError | None = None,
        status: int | None = None,
        message_id: str | None = None,
        response: str = "",
    ) -> None:
        if err is not None:
            status, response = err.status, f"{err.detail} {err.response}".strip()
        async with self.service.store.begin() as tx:
            await tx.log_attempt(
                AttemptRow(
                    delivery_id=d.id,
                    incident_id=d.incident_id,
                    person_id=d.person_id,
                    kind=d.kind,
                    channel_type=ch.type,
                    provider=provider,
                    address=ch.to,
                    attempt=attempt,
                    outcome=outcome,
                    status=status,
                    provider_message_id=message_id,
                    response=response[:2000],
                    at_ms=self._clock_ms,
                )
            )

    async def _set(self, d: DeliveryRow, **values: object) -> None:
        async with self.service.store.begin() as tx:
            await tx.update_delivery(d.id, lease_until_ms=None, **values)

    async def _renew(self, d: DeliveryRow) -> None:
        lease_ms = self.service.settings.lease_s * 1000
        async with self.service.store.begin() as tx:
            await tx.update_delivery(d.id, lease_until_ms=self._clock_ms + lease_ms)

    async def deliver(self, d: DeliveryRow) -> None:
        """Send one claimed delivery as far as it can go now."""
        channels = [Channel.model_validate(c) for c in json.loads(d.channels_json)]
        content = AlertContent.model_validate_json(d.content_json)
        retry = self.service.settings.retry
        store = self.service.store
        index, attempt = d.channel_index, d.attempt
        while index < len(channels):
            if index != d.channel_index:  # the claim's lease covered the first channel only
                await self._renew(d)
            ch = channels[index]
            adapter = self.channels.get(ch.type)
            if adapter is None:
                await self._log(
                    d, ch, ch.type, 0, "unconfigured", response=f"no {ch.type} provider configured"
                )
                index, attempt = index + 1, 0
                continue
            provider = adapter.provider_for(ch)
            limit = self.service.settings.rate_limit(ch.type)
            now_ms = self._clock_ms
            wait_until = await store.reserve(provider, now_ms, int(1000 / limit.per_s), limit.burst)
            if wait_until is not None:
                if wait_until - now_ms > retry.max_provider_wait_s * 1000:
                    await self._log(
                        d,
                        ch,
                        provider,
                        attempt,
                        "skipped",
                        response=f"provider busy for {(wait_until - now_ms) / 1000:.0f} s",
                    )
                    index, attempt = index + 1, 0
                    continue
                await self._set(
                    d,
                    status="pending",
                    channel_index=index,
                    attempt=attempt,
                    next_attempt_ms=wait_until,
                )
                return
            attempt += 1
            try:
                receipt = await adapter.send(
                    ch, content, now=self.service.clock.now(), idempotency_key=d.key
                )
            except PermanentChannelError as exc:
                _LOGGER.warning(
                    "delivery %s to %s via %s refused: %s", d.id, d.person_id, provider, exc.detail
                )
                await self._log(d, ch, provider, attempt, "permanent", exc)
                index, attempt = index + 1, 0
                continue
            except TransientChannelError as exc:
                _LOGGER.warning(
                    "delivery %s to %s via %s failed (attempt %d): %s",
                    d.id,
                    d.person_id,
                    provider,
                    attempt,
                    exc.detail,
                )
                await self._log(d, ch, provider, attempt, "transient", exc)
                after_ms = int(exc.retry_after_s * 1000) if exc.retry_after_s else None
                await store.provider_result(
                    provider,
                    ok=False,
                    now_ms=self._clock_ms,
                    retry_after_ms=after_ms,
                    base_ms=int(retry.provider_backoff_base_s * 1000),
                    max_ms=int(retry.provider_backoff_max_s * 1000),
                )
                if attempt >= retry.attempts_per_channel:
                    index, attempt = index + 1, 0
                    continue
                delay_ms = max(int(retry.delay_after(attempt) * 1000), after_ms or 0)
                await self._set(
                    d,
                    status="pending",
                    channel_index=index,
                    attempt=attempt,
                    next_attempt_ms=self._clock_ms + delay_ms,
                )
                return
            await self._log(
                d,
                ch,
                provider,
                attempt,
                "sent",
                status=receipt.status,
                message_id=receipt.message_id,
                response=receipt.response,
            )
            await store.provider_result(
                provider, ok=True, now_ms=self._clock_ms, base_ms=0, max_ms=0
            )
            await self._set(
                d, status="sent", channel_index=index, attempt=attempt, sent_ms=self._clock_ms
            )
            return
        _LOGGER.error("delivery %s to %s: every channel failed", d.id, d.person_id)
        await self._set(d, status="failed", channel_index=index, attempt=attempt)

    async def deliver_due(self) -> int:
        lease_ms = self.service.settings.lease_s * 1000
        claimed = await self.service.store.claim_deliveries(self._clock_ms, lease_ms, self.batch)
        await asyncio.gather(*(self.deliver(d) for d in claimed))
        return len(claimed)

    async def run_once(self) -> int:
        """One sweep: escalation timers that ran out, then messages that are due."""
        return await self.service.escalate_due() + await self.deliver_due()

    async def run_until_idle(self, max_sweeps: int = 1000) -> None:
        """Sweep until nothing is due at the clock's current time (tests, demos)."""
        for _ in range(max_sweeps):
            if await self.run_once() == 0:
                return
        msg = "still busy after max_sweeps"
        raise RuntimeError(msg)

    async def run_forever(self, stop: asyncio.Event, poll_s: float = 1.0) -> None:
        """Sweep until `stop`; `wake` (set by the notifier) cuts the wait short."""
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception:  # the loop lives on; the database keeps every timer
                _LOGGER.exception("responder sweep failed")
                busy = 0
            if busy:
                continue
            self.wake.clear()
            await wait_set(self.wake, poll_s)

    async def aclose(self) -> None:
        for adapter in self.channels.values():
            await adapter.aclose()
