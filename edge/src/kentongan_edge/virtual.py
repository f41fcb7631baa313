"""Virtual gateways: the real daemon, in-process, on mock pins, many per process.

For the cloud's tests, load generators and benchmarks:

    with VirtualFleet() as fleet:
        gw = fleet.add(gateway, profile, broker_port=port, password=pw, workdir=tmp)
        gw.wait_connected()
        events = gw.press("tombol_kebakaran")        # hold past hold_time, then release
        assert gw.siren_on

A `VirtualFleet` runs one asyncio loop on a background thread; every virtual gateway lives
on it (no thread per gateway: paho runs on the loop). Each gateway has its own gpiozero
`MockFactory`, so gateways wired to the same BCM pins never share a pin; its own outbox
(SQLite in `workdir`, or in memory with `durable=False`). The blocking methods are safe to
call from any other thread; `a…` coroutines are for code already on the fleet's loop.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from kentongan_protocol.payloads import Event, EventKind
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile

from kentongan_edge.config import EdgeConfig
from kentongan_edge.daemon import DaemonOptions, GatewayDaemon
from kentongan_edge.hardware import mock_pins
from kentongan_edge.link import LinkSettings
from kentongan_edge.runtime import StateSettings, build_daemon, will_delay_s
from kentongan_edge.sender import SenderSettings
from kentongan_edge.storage import Synchronous

T = TypeVar("T")
PRESS_MARGIN_S = 0.3


@dataclass(frozen=True, kw_only=True)
class VirtualOptions:
    """Per-gateway knobs; the defaults favour fast tests over a Pi's gentler pacing."""

    resend_after_s: float | None = None  # None: the gateway file's outbox.resend_after_s
    window: int = 100
    max_unacked: int = 2000
    live_window_s: float = 60.0
    durable: bool = True
    synchronous: Synchronous = "NORMAL"
    capacity: int | None = None
    animate_led: bool = False
    telemetry: bool = True
    heartbeat_s: float | None = None
    analog_poll_s: float = 1.0
    keepalive_s: int | None = None
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 2.0
    session_expiry_s: int = 600
    keep_events: int = 10_000


class VirtualGateway:
    """One daemon on mock pins; blocking methods run on the fleet's loop."""

    def __init__(
        self,
        fleet: VirtualFleet,
        cfg: EdgeConfig,
        *,
        link: LinkSettings | None,
        workdir: Path | None,
        options: VirtualOptions,
    ) -> None:
        self.fleet = fleet
        self.cfg = cfg
        self.options = options
        self.factory = mock_pins()
        self._link = link
        self._workdir = workdir
        self.events: deque[Event] = deque(maxlen=options.keep_events)
        self._changed: asyncio.Event | None = None
        self.daemon: GatewayDaemon | None = None

    @property
    def gateway_id(self) -> str:
        return self.cfg.gateway_id

    @property
    def d(self) -> GatewayDaemon:
        if self.daemon is None:
            msg = f"virtual gateway {self.gateway_id} is not running"
            raise RuntimeError(msg)
        return self.daemon

    # --- lifecycle (on the loop) -------------------------------------------------------------

    async def astart(self) -> None:
        o = self.options
        gw = self.cfg.gateway
        self._changed = asyncio.Event()
        path = None
        if o.durable:
            if self._workdir is None:
                msg = "a durable virtual gateway needs a workdir"
                raise ValueError(msg)
            path = self._workdir / f"{gw.gateway_id}.outbox.db"
        state = StateSettings(
            path=path, capacity=o.capacity or gw.outbox.max_events, synchronous=o.synchronous
        )
        options = DaemonOptions(
            sender=SenderSettings(
                resend_after_s=o.resend_after_s or gw.outbox.resend_after_s,
                window=o.window,
                max_unacked=o.max_unacked,
                live_window_s=o.live_window_s,
            ),
            analog_poll_s=o.analog_poll_s,
            animate_led=o.animate_led,
            heartbeat_s=o.heartbeat_s,
            telemetry=o.telemetry,
            event_hooks=[self._seen],
        )
        self.daemon = build_daemon(
            self.cfg, state=state, link=self._link, factory=self.factory, options=options
        )
        await self.daemon.start()

    async def astop(self) -> None:
        if self.daemon is not None:
            await self.daemon.stop()
        self.factory.close()

    def _seen(self, event: Event) -> None:
        self.events.append(event)
        if self._changed is not None:
            self._changed.set()

    # --- pins (async) ------------------------------------------------------------------------

    async def apress(self, name: str, hold_s: float | None = None) -> list[Event]:
        """Press a button for `hold_s` (default: its hold time plus a margin), then release.
        Returns the events recorded meanwhile."""
        before = len(self.events)
        hold = self._default_hold(name) if hold_s is None else hold_s
        self.d.hardware.drive(name, True)
        await asyncio.sleep(hold)
        self.d.hardware.drive(name, False)
        # Let the release edge and its debounce settle before reporting.
        await asyncio.sleep(0.08)
        return list(self.events)[before:]

    def _default_hold(self, name: str) -> float:
        gw = self.cfg.gateway
        holds = {b.input: b.hold_time_s for b in gw.panic_buttons}
        for plain in (gw.cancel_button, gw.duty_button):
            if plain is not None:
                holds[plain.input] = plain.hold_time_s
        return holds.get(name, 0.5) + PRESS_MARGIN_S

    async def await_until(self, check: Callable[[], bool], within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while not check():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    # --- blocking API ------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        return self.fleet.call(fn, timeout)

    def press(self, name: str, hold_s: float | None = None) -> list[Event]:
        return self.fleet.run(self.apress(name, hold_s), timeout=(hold_s or 10) + 10)

    def set_input(self, name: str, active: bool) -> None:
        """Hold a mock input at a level (a sensor firing, mains lost, a button kept down)."""
        self._call(lambda: self.d.hardware.drive(name, active))

    def set_level(self, name: str, level: float) -> None:
        self._call(lambda: self.d.hardware.set_level(name, level))

    def emit(
        self,
        kind: EventKind,
        input_name: str,
        *,
        incident_type: str | None = None,
        cancels: UUID | None = None,
        source: str = "button",
    ) -> Event:
        """Record an event through the daemon's own path after classification (volume
        tests: thousands of events without pressing a pin thousands of times)."""

        def make() -> Event:
            d = self.d
            src: Any = source
            return d.record(
                d.events.make(
                    kind, input_name, source=src, incident_type=incident_type, cancels=cancels
                )
            )

        return self._call(make)

    def emit_many(
        self,
        count: int,
        kind: EventKind = "sensor_triggered",
        input_name: str | None = None,
        *,
        incident_type: str | None = None,
    ) -> list[Event]:
        """`count` events in one go (a burst from a sensor, a load test)."""
        gw = self.cfg.gateway
        name = input_name or gw.panic_buttons[0].input
        itype = incident_type or gw.panic_buttons[0].incident_type

        def make() -> list[Event]:
            d = self.d
            return [
                d.record(d.events.make(kind, name, source="sensor", incident_type=itype))
                for _ in range(count)
            ]

        return self._call(make, timeout=max(30.0, count / 100))

    def raise_panic(self, name: str) -> Event:
        """What a confirmed hold does (siren, event), without waiting for the hold time."""
        it = {b.input: b.incident_type for b in self.cfg.gateway.panic_buttons}[name]

        def go() -> Event:
            self.d.actions.panic_held(name, it)
            return self.events[-1]

        return self._call(go)

    def set_maintenance(self, minutes: float) -> None:
        self._call(lambda: self.d.set_maintenance(minutes))

    def cut_siren_wire(self, cut: bool = True) -> None:
        """Simulate a broken siren cable: the feedback input no longer follows the siren."""

        def go() -> None:
            self.d.hardware.siren_circuit_ok = not cut

        self._call(go)

    def drop_link(self) -> None:
        """Vanish from the broker without DISCONNECT (power cut): the Last Will follows."""
        self._call(lambda: self.d.link.drop() if self.d.link is not None else None)

    def wait_until(self, check: Callable[[GatewayDaemon], bool], timeout: float = 10.0) -> bool:
        return self.fleet.run(self.await_until(lambda: check(self.d), timeout), timeout + 5)

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self.wait_until(lambda d: d.link is not None and d.link.connected, timeout)

    def wait_drained(self, timeout: float = 30.0) -> bool:
        """Until every event has been acknowledged by the cloud and forgotten."""
        return self.wait_until(lambda d: d.outbox.event_depth == 0, timeout)

    @property
    def siren_on(self) -> bool:
        return self._call(lambda: any(self.d.hardware.output_is_on(s) for s in self._sirens()))

    def _sirens(self) -> list[str]:
        return self.d.hardware.outputs("siren")

    def output_on(self, name: str) -> bool:
        return self._call(lambda: self.d.hardware.output_is_on(name))

    @property
    def alarms(self) -> list[str]:
        return self._call(self.d.alarms.active)

    @property
    def outbox_depth(self) -> int:
        return self._call(lambda: self.d.outbox.depth)

    @property
    def session_id(self) -> str:
        return self.d.session_id

    @property
    def connected(self) -> bool:
        return self._call(lambda: self.d.link is not None and self.d.link.connected)


@dataclass
class VirtualFleet:
    """A background event loop holding any number of virtual gateways."""

    gateways: list[VirtualGateway] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="virtual-fleet", daemon=True)
        self._thread.start()
        self._tmp: list[Path] = []

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run a coroutine on the fleet's loop and wait for its result."""
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run a plain function on the fleet's loop (where the daemons live)."""
        if threading.current_thread() is self._thread:
            return fn()

        async def wrap() -> T:
            return fn()

        return self.run(wrap(), timeout)

    def add(
        self,
        gateway: Gateway,
        profile: EdgeProfile,
        *,
        broker_port: int | None,
        password: str = "",
        broker_host: str = "127.0.0.1",
        tls_ca_file: str | None = None,
        workdir: Path | None = None,
        options: VirtualOptions = VirtualOptions(),
        start: bool = True,
    ) -> VirtualGateway:
        """A virtual gateway for `gateway` talking MQTT to broker_host:broker_port (TLS when
        `tls_ca_file` names the broker's CA; `broker_port=None`: no broker at all, the post
        works alone). Started unless `start=False`."""
        cfg = EdgeConfig.from_models(gateway, profile)
        link = None
        if broker_port is not None:
            keepalive = options.keepalive_s or gateway.broker.keepalive_s
            link = LinkSettings(
                host=broker_host,
                port=broker_port,
                username=gateway.gateway_id,
                password=password,
                client_id=gateway.gateway_id,
                tls=tls_ca_file is not None,
                ca_file=tls_ca_file,
                keepalive_s=keepalive,
                will_delay_s=will_delay_s(keepalive),
                session_expiry_s=options.session_expiry_s,
                reconnect_min_s=options.reconnect_min_s,
                reconnect_max_s=options.reconnect_max_s,
            )
        if workdir is None and options.durable:
            workdir = Path(tempfile.mkdtemp(prefix="kentongan-virtual-"))
            self._tmp.append(workdir)
        gw = VirtualGateway(self, cfg, link=link, workdir=workdir, options=options)
        self.gateways.append(gw)
        if start:
            self.run(gw.astart())
        return gw

    def start_all(self, gateways: list[VirtualGateway]) -> None:
        """Start many gateways made with `start=False`, concurrently."""

        async def go() -> None:
            await asyncio.gather(*(g.astart() for g in gateways))

        self.run(go(), timeout=None)

    def stop(self, gw: VirtualGateway) -> None:
        self.run(gw.astop())
        self.gateways.remove(gw)

    def close(self) -> None:
        async def stop_all() -> None:
            waits: list[Awaitable[None]] = [g.astop() for g in self.gateways]
            await asyncio.gather(*waits, return_exceptions=True)

        try:
            self.run(stop_all(), timeout=60)
        finally:
            self.gateways.clear()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()
            for d in self._tmp:
                shutil.rmtree(d, ignore_errors=True)

    def __enter__(self) -> VirtualFleet:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
