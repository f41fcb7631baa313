"""Putting the responders part together: one call for the core's app factory."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import APIRouter
from kentongan_protocol.provisioning.district import District

from kentongan_cloud.responders.acks import AckDesk, ReplyOutcome
from kentongan_cloud.responders.channels.base import ChannelAdapter
from kentongan_cloud.responders.channels.email import EmailChannel
from kentongan_cloud.responders.channels.sms_http import TwilioSmsChannel
from kentongan_cloud.responders.channels.sms_modem import ModemSmsChannel
from kentongan_cloud.responders.channels.telegram import TelegramChannel
from kentongan_cloud.responders.channels.webhook import WebhookChannel
from kentongan_cloud.responders.channels.whatsapp import WhatsAppChannel
from kentongan_cloud.responders.clock import Clock, SystemClock
from kentongan_cloud.responders.errors import ChannelError
from kentongan_cloud.responders.fleet_alerts import FleetAlerts
from kentongan_cloud.responders.service import AckListener, ResponderService
from kentongan_cloud.responders.settings import ResponderSettings
from kentongan_cloud.responders.web import make_router
from kentongan_cloud.responders.worker import DeliveryWorker
from kentongan_cloud.store.fleet_alerts import FleetAlertLog
from kentongan_cloud.store.responders import Engine, ResponderStore
from kentongan_cloud.waiting import wait_set

_LOGGER = logging.getLogger(__name__)


def build_channels(
    settings: ResponderSettings, env: Mapping[str, str]
) -> dict[str, ChannelAdapter]:
    """An adapter for every channel type whose provider is configured (webhooks always)."""
    timeout = settings.http_timeout_s
    channels: dict[str, ChannelAdapter] = {"webhook": WebhookChannel(env, timeout_s=timeout)}
    if settings.whatsapp:
        channels["whatsapp"] = WhatsAppChannel(settings.whatsapp, timeout_s=timeout)
    if settings.sms:
        channels["sms"] = TwilioSmsChannel(settings.sms, timeout_s=timeout)
    if settings.modem:
        channels["sms_modem"] = ModemSmsChannel(settings.modem)
    if settings.telegram:
        channels["telegram"] = TelegramChannel(settings.telegram, timeout_s=timeout)
    if settings.smtp:
        channels["email"] = EmailChannel(settings.smtp)
    return channels


@dataclass
class Responders:
    """The notifier and the technicians' alerts for the outbox, the worker to run,
    acknowledgements, and the routes."""

    store: ResponderStore
    notifier: ResponderService
    worker: DeliveryWorker
    acks: AckDesk
    settings: ResponderSettings
    fleet_alerts: FleetAlerts

    def router(self) -> APIRouter:
        return make_router(self.acks, self.settings)

    async def poll_modem_replies(self) -> list[ReplyOutcome]:
        """Acknowledge replies waiting in the GSM modem ("TERIMA <kode>"); each sender gets
        a short answer by SMS."""
        modem = self.worker.channels.get("sms_modem")
        if not isinstance(modem, ModemSmsChannel):
            return []
        outcomes: list[ReplyOutcome] = []
        for sms in await modem.read_replies():
            outcome = await self.acks.by_reply("sms_modem", sms.sender, sms.text)
            outcomes.append(outcome)
            try:
                await modem.reply(sms.sender, outcome.reply)
            except ChannelError as exc:
                _LOGGER.warning("modem: could not answer %s: %s", sms.sender, exc.detail)
        return outcomes

    async def run(
        self, stop: asyncio.Event, *, poll_s: float = 1.0, modem_poll_s: float = 10.0
    ) -> None:
        """The worker loop, and the modem's inbox when there is a modem, until `stop`."""

        async def modem_loop() -> None:
            while not stop.is_set():
                try:
                    await self.poll_modem_replies()
                except ChannelError as exc:
                    _LOGGER.warning("modem inbox: %s", exc.detail)
                await wait_set(stop, modem_poll_s)

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.worker.run_forever(stop, poll_s))
            if "sms_modem" in self.worker.channels:
                tasks.create_task(modem_loop())

    async def aclose(self) -> None:
        await self.worker.aclose()


async def build_responders(
    engine: Engine,
    district: District,
    settings: ResponderSettings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    channels: Mapping[str, ChannelAdapter] | None = None,
    on_ack: AckListener | None = None,
    create_tables: bool = True,
) -> Responders:
    """Everything wired on one engine. Settings default to `KENTONGAN_RESPONDERS__*` from
    `env` (default: the process environment), which also holds the webhook secrets."""
    env = os.environ if env is None else env
    settings = settings or ResponderSettings.from_env(env)
    store = ResponderStore(engine)
    if create_tables:
        await store.create_tables()
    service = ResponderService(
        store=store, district=district, settings=settings, clock=clock, on_ack=on_ack
    )
    worker = DeliveryWorker(
        service, channels if channels is not None else build_channels(settings, env)
    )
    service.on_queued = worker.wake.set
    fleet_alerts = FleetAlerts(
        district, worker.channels, FleetAlertLog(engine), clock or SystemClock()
    )
    return Responders(store, service, worker, AckDesk(service), settings, fleet_alerts)
