"""The gateway daemon: inputs → local siren and durable events → MQTT, commands back.

Everything runs on one asyncio loop; gpiozero's threads only hand edges over with
`loop.call_soon_threadsafe`. The local siren is switched before anything is written or
sent, so it sounds at once whether the broker is reachable or not.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from kentongan_protocol.errors import PayloadError, TopicError
from kentongan_protocol.payloads import CommandAck, Event, EventAck, GatewayState, Telemetry, decode
from kentongan_protocol.topics import Suffix, gateway_filters, gateway_topic, parse

from kentongan_edge import __version__
from kentongan_edge.actions import PostActions
from kentongan_edge.commands import CommandHandler
from kentongan_edge.config import EdgeConfig
from kentongan_edge.errors import OutboxError
from kentongan_edge.events import EventFactory, new_session_id
from kentongan_edge.hardware import Hardware
from kentongan_edge.inputs import InputRouter
from kentongan_edge.ledger import CommandLedger
from kentongan_edge.link import LinkSettings, MqttLink, Retained
from kentongan_edge.logs import for_gateway, truncated
from kentongan_edge.outbox import Outbox
from kentongan_edge.patterns import AlarmBoard
from kentongan_edge.press import CancelWindow
from kentongan_edge.sender import Sender, SenderSettings
from kentongan_edge.status_led import StatusLed
from kentongan_edge.storage import Meta
from kentongan_edge.telemetry import SystemProbe, machine_boot_id

MAINTENANCE_KEY = "maintenance_until"


@dataclass(kw_only=True)
class DaemonOptions:
    """Knobs the CLI, tests and the virtual-gateway harness set; defaults suit a Pi."""

    sender: SenderSettings | None = None
    analog_poll_s: float = 1.0
    animate_led: bool = True
    heartbeat_s: float | None = None
    telemetry: bool = True
    session_id: str | None = None
    boot_id: UUID | None = None
    event_hooks: list[Callable[[Event], None]] = field(default_factory=list)


class GatewayDaemon:
    """One pos kamling's daemon on an event loop (see module docstring)."""

    def __init__(
        self,
        cfg: EdgeConfig,
        *,
        hardware_factory: Callable[[Callable[[str, bool, float], None]], Hardware],
        conn_outbox: tuple[Outbox, Meta, CommandLedger],
        link_settings: LinkSettings | None,
        probe: SystemProbe,
        options: DaemonOptions | None = None,
    ) -> None:
        self.cfg = cfg
        self.options = options or DaemonOptions()
        gw = cfg.gateway
        self.log = for_gateway(__name__, gw.district, gw.gateway_id)
        self.loop = asyncio.get_running_loop()
        self.outbox, self.meta, self.ledger = conn_outbox
        self.probe = probe
        self.session_id = self.options.session_id or new_session_id()
        self.boot_id = self.options.boot_id or machine_boot_id()
        self.started = time.monotonic()
        self.events = EventFactory(
            session_id=self.session_id,
            boot_id=self.boot_id,
            clock_synced=probe.clock_synced,
            test_mode=self.in_maintenance,
        )
        self.hardware = hardware_factory(self._edge_from_thread)
        self.topics = {s: gateway_topic(gw.district, gw.gateway_id, s) for s in Suffix}
        self.sender = Sender(
            self.outbox,
            self.loop,
            event_topic=self.topics[Suffix.EVENT],
            telemetry_topic=self.topics[Suffix.TELEMETRY],
            session_id=self.session_id,
            settings=self.options.sender or SenderSettings(resend_after_s=gw.outbox.resend_after_s),
            log=self.log,
        )
        self.actions = PostActions(self)
        hw = self.hardware
        sirens = hw.outputs("siren")
        strobe = hw.outputs("strobe")

        def set_sirens(on: bool) -> None:
            for name in sirens:
                hw.set_output(name, on)

        self.alarms = AlarmBoard(
            self.loop,
            sirens=set_sirens,
            strobe=(lambda on: hw.set_output(strobe[0], on)) if strobe else None,
            strike_done=self.actions.strike_done,
            changed=self.update_led,
        )
        leds = hw.outputs("status_led")
        self.led = StatusLed(
            self.loop,
            (lambda on: hw.set_output(leds[0], on)) if leds else None,
            animate=self.options.animate_led,
        )
        self.cancel_window = CancelWindow(cfg.profile.cancel_window_s)
        self.router = InputRouter(
            gw,
            self.loop,
            self.actions,
            level_now=hw.is_active,
            read_level=hw.read_level,
            analog_poll_s=self.options.analog_poll_s,
            log=self.log,
        )
        self.commands = CommandHandler(self.ledger, self.actions, self._send_ack, log=self.log)
        self.link: MqttLink | None = None
        if link_settings is not None:
            self.link = MqttLink(
                link_settings,
                self,
                subscriptions=gateway_filters(gw.district, gw.gateway_id),
                birth=Retained(self.topics[Suffix.STATE], self._state("online")),
                will=Retained(self.topics[Suffix.STATE], self._state("offline")),
                log=self.log,
            )
        self.refused: str | None = None
        self.storage_fault = False
        self.restart_requested = False
        self.bad_acks = 0
        self._heartbeat: asyncio.TimerHandle | None = None
        self._stopped = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        gw = self.cfg.gateway
        self.log.info(
            "starting %s (session %s, %d events waiting in the outbox)",
            gw.post_name,
            self.session_id,
            self.outbox.event_depth,
        )
        self.router.start()
        self.update_led()
        if self.link is not None:
            self.link.start()
        if self.options.telemetry:
            period = self.options.heartbeat_s or gw.heartbeat_s
            self._heartbeat = self.loop.call_later(period, self._beat, period)

    async def stop(self) -> None:
        """Silence, say goodbye (retained offline of this session), close everything."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        self.router.close()
        self.alarms.stop_all()
        self.led.close()
        if self.link is not None:
            await self.link.stop(Retained(self.topics[Suffix.STATE], self._state("offline")))
        self.sender.close()
        self.hardware.close()
        self.outbox.close()
        self._stopped.set()
        self.log.info("stopped")

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def request_restart(self, why: str) -> None:
        self.log.warning("restarting: %s", why)
        self.restart_requested = True
        self.loop.create_task(self.stop())

    # --- events ------------------------------------------------------------------------------

    def record(self, event: Event) -> Event:
        """Write an event to the outbox (durable on return), then offer it to the sender."""
        try:
            added = self.outbox.add_event(event)
        except OutboxError:
            self.log.critical(
                "CANNOT STORE event %s (%s): sending without durability", event.event_id, event.kind
            )
            self.storage_fault = True
            self.update_led()
            if self.link is not None:
                self.link.publish(self.topics[Suffix.EVENT], event.encode())
        else:
            self.sender.forget(added.shed)
            if added.row is not None:
                self.sender.offer(added.row)
        for hook in self.options.event_hooks:
            hook(event)
        return event

    def maintenance_left_s(self) -> float:
        """Seconds of maintenance mode left (0 when off); the CLI may have set it."""
        until = self.meta.get(MAINTENANCE_KEY)
        return 0.0 if until is None else max(0.0, float(until) - time.time())

    def in_maintenance(self) -> bool:
        return self.maintenance_left_s() > 0

    def set_maintenance(self, minutes: float) -> None:
        """Maintenance for `minutes` (0 ends it): events go out as status=test. The console,
        the command centre's command and fleetsim all switch it here."""
        if minutes <= 0:
            self.meta.delete(MAINTENANCE_KEY)
            self.log.warning("maintenance off")
        else:
            self.meta.set(MAINTENANCE_KEY, str(time.time() + minutes * 60))
            self.log.warning("maintenance on for %g min: events go out as status=test", minutes)
        self.update_led()
        if self.options.telemetry:
            # The command centre sees the switch now, not at the next heartbeat.
            self._send_telemetry()

    def update_led(self) -> None:
        if self.alarms.active():
            self.led.show("alarm")
        elif self.refused or self.storage_fault or self.actions.siren_fault:
            self.led.show("fault")
        elif self.in_maintenance():
            self.led.show("maintenance")
        elif self.link is not None and self.link.connected:
            self.led.show("online")
        else:
            self.led.show("offline")

    # --- hardware thread → loop --------------------------------------------------------------

    def _edge_from_thread(self, name: str, active: bool, at: float) -> None:
        # Called on gpiozero's thread: no I/O, only the hand-over.
        self.loop.call_soon_threadsafe(self.router.edge, name, active, at)

    # --- LinkListener ------------------------------------------------------------------------

    def link_up(self) -> None:
        if self.link is None:
            return
        self.refused = None
        self.sender.connected(self.link)
        self.update_led()

    def link_down(self, reason: str) -> None:
        self.sender.disconnected()
        self.update_led()

    def link_refused(self, reason: str) -> None:
        self.sender.disconnected()
        self.refused = reason
        self.update_led()

    def link_published(self, mid: int, reason_code: int) -> None:
        self.sender.published_ack(mid, reason_code)

    def link_message(self, topic: str, payload: bytes, expiry_s: int | None) -> None:
        try:
            where = parse(topic)
        except TopicError as exc:
            self.log.warning("message on unexpected topic ignored: %s", exc)
            return
        if where.is_broadcast:
            self.commands.on_broadcast(payload, expiry_s)
        elif where.suffix == Suffix.CMD:
            self.commands.on_command(payload, expiry_s)
        elif where.suffix == Suffix.EVENT_ACK:
            try:
                ack = decode(EventAck, payload)
            except PayloadError as exc:
                self.bad_acks += 1
                self.log.warning("bad event/ack ignored (%s): %s", exc, truncated(payload))
                return
            self.sender.acknowledged([str(e) for e in ack.event_ids])

    def _send_ack(self, ack: CommandAck) -> None:
        link = self.link
        if link is None or link.publish(self.topics[Suffix.CMD_ACK], ack.encode()) is None:
            self.log.warning("command ack %s not sent: offline", ack.command_id)

    # --- telemetry ---------------------------------------------------------------------------

    def _state(self, state: str) -> bytes:
        return GatewayState(
            state="online" if state == "online" else "offline",
            session_id=self.session_id,
            firmware=__version__,
            config_hash=self.cfg.config_hash,
        ).encode()

    def telemetry(self) -> Telemetry:
        r = self.probe.read()
        a = self.actions
        left = self.maintenance_left_s()
        return Telemetry(
            session_id=self.session_id,
            sent_at=datetime.now(UTC),
            clock_synced=self.probe.clock_synced(),
            uptime_s=int(time.monotonic() - self.started),
            cpu_temp_c=r.cpu_temp_c,
            load_1m=r.load_1m,
            memory_used_pct=r.memory_used_pct,
            disk_used_pct=r.disk_used_pct,
            wifi_signal_dbm=r.wifi_signal_dbm,
            power=a.power_state(),
            battery_low=a.battery_low,
            tamper=a.tamper_open,
            on_duty=a.on_duty,
            maintenance=left > 0,
            maintenance_left_s=math.ceil(left) if left > 0 else None,
            outbox_depth=self.outbox.depth,
            shed_count=self.outbox.shed_count,
        )

    def _beat(self, period: float) -> None:
        self._heartbeat = self.loop.call_later(period, self._beat, period)
        self._send_telemetry()

    def _send_telemetry(self) -> None:
        payload = self.telemetry().encode()
        if self.link is not None and self.link.publish(self.topics[Suffix.TELEMETRY], payload):
            return
        try:
            self.outbox.add_telemetry(
                payload, session_id=self.session_id, monotonic_ms=int(time.monotonic() * 1000)
            )
        except OutboxError:
            self.log.exception("cannot keep a heartbeat for later")
        self.update_led()
