"""Run the cloud in-process for tests: its own event loop on a thread, so tests stay plain
synchronous code that can block on MQTT clients while the cloud keeps working.

Also: recording implementations of the cloud's ports (the real ones belong to the
responders, time-series and Grafana parts) and a virtual post that speaks the wire contract.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from kentongan_cloud.api.app import create_app
from kentongan_cloud.clock import Clock
from kentongan_cloud.outbox.worker import Sinks
from kentongan_cloud.ports import Annotation, FleetAlert, IncidentNotice, TimePoint
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.settings import Settings
from kentongan_cloud.store.db import Tx
from kentongan_protocol.payloads import Event, GatewayState, Telemetry
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_protocol.topics import Suffix, gateway_topic

from kentongan_testkit.mqtt import MqttTestClient

T = TypeVar("T")


# --- recording ports -------------------------------------------------------------------------


@dataclass
class RecordingNotifier:
    """Honours idempotency keys like a good receiver: `notices` holds each key once, `calls`
    every delivery attempt. `fail_next` makes the next N calls fail after recording (a
    receiver that got the message but whose answer was lost)."""

    notices: dict[str, IncidentNotice] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_next: int = 0

    async def notify(self, notice: IncidentNotice, idempotency_key: str) -> None:
        self.calls.append(idempotency_key)
        self.notices.setdefault(idempotency_key, notice)
        if self.fail_next > 0:
            self.fail_next -= 1
            msg = "answer lost"
            raise ConnectionError(msg)


@dataclass
class RecordingPoints:
    points: list[TimePoint] = field(default_factory=list)

    def write(self, points: Sequence[TimePoint]) -> None:
        self.points.extend(points)


@dataclass
class RecordingAnnotations:
    annotations: dict[str, Annotation] = field(default_factory=dict)

    async def annotate(self, annotation: Annotation, idempotency_key: str) -> None:
        self.annotations[idempotency_key] = annotation


@dataclass
class RecordingAlerts:
    alerts: dict[str, FleetAlert] = field(default_factory=dict)

    async def alert_many(
        self, alerts: Sequence[tuple[FleetAlert, str]]
    ) -> Sequence[Exception | None]:
        self.alerts.update((key, alert) for alert, key in alerts)
        return [None] * len(alerts)


@dataclass
class Recorders:
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    points: RecordingPoints = field(default_factory=RecordingPoints)
    annotations: RecordingAnnotations = field(default_factory=RecordingAnnotations)
    alerts: RecordingAlerts = field(default_factory=RecordingAlerts)

    def sinks(self) -> Sinks:
        return Sinks(self.notifier, self.points, self.annotations, self.alerts)


# --- the harness -----------------------------------------------------------------------------


class CloudHarness:
    """A CloudRuntime on a private event loop thread, with the API reachable in-process."""

    def __init__(
        self,
        settings: Settings,
        provisioning: Provisioning,
        *,
        clock: Clock | None = None,
        sinks: Sinks | None = None,
        mqtt: bool = True,
        outbox: bool = True,
        sweeper: bool = True,
    ) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runtime = CloudRuntime(
            settings,
            provisioning=provisioning,
            clock=clock,
            sinks=sinks,
            mqtt=mqtt,
            outbox=outbox,
            sweeper=sweeper,
        )
        self._client: httpx.AsyncClient | None = None
        self.running = False

    def start(self) -> CloudHarness:
        self.thread.start()
        try:
            self.call(self.runtime.start())
        except BaseException:
            self._stop_loop()
            raise
        app = create_app(self.settings, runtime=self.runtime)
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kentongan.test"
        )
        self.running = True
        return self

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the cloud's loop and wait for its result. On a timeout the
        error names every task still on the loop and where each waits: a hang says why."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            raise TimeoutError(f"cloud call timed out after {timeout} s\n{self._tasks()}") from None

    def _tasks(self) -> str:
        """Each pending task on the cloud's loop with its stack (best effort, from outside)."""
        out = io.StringIO()
        try:
            tasks = list(asyncio.all_tasks(self.loop))
        except RuntimeError:  # the set changed under us; one retry is enough for a report
            tasks = list(asyncio.all_tasks(self.loop))
        for task in tasks:
            out.write(f"--- {task.get_name()}\n")
            task.print_stack(limit=30, file=out)
        return out.getvalue()

    def db(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `work` in a transaction of the cloud's database."""

        async def run() -> T:
            async with self.runtime.db.transaction() as tx:
                return await work(tx)

        return self.call(run())

    def api(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: object = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        assert self._client is not None
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        client = self._client
        if cookies:
            client.cookies.update(cookies)
        try:
            return self.call(client.request(method, path, json=json, headers=h, content=content))
        finally:
            if cookies:
                client.cookies.clear()

    def wait_for(
        self, check: Callable[[], T | None], *, timeout: float = 15.0, what: str = "condition"
    ) -> T:
        """Poll `check` until it returns something truthy (no timing is asserted)."""
        deadline = time.monotonic() + timeout
        while True:
            got = check()
            if got:
                return got
            if time.monotonic() > deadline:
                msg = f"timed out waiting for {what}"
                raise TimeoutError(msg)
            time.sleep(0.05)

    def _close_client(self) -> None:
        if self._client is not None:
            self.call(self._client.aclose())
            self._client = None

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        self._close_client()
        self.call(self.runtime.stop())
        self._stop_loop()

    def crash(self) -> None:
        """Die as a kill -9 would: no DISCONNECT, nothing flushed that was not committed."""
        if not self.running:
            return
        self.running = False
        self._close_client()
        self.call(self.runtime.crash())
        self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


# --- a virtual post --------------------------------------------------------------------------


@dataclass
class VirtualPost:
    """A gateway as the cloud sees it on the wire: birth, presses, cancels, heartbeats."""

    client: MqttTestClient
    district: str
    gateway_id: str
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    boot_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seq: int = 0
    monotonic_ms: int = 1000

    def topic(self, suffix: Suffix) -> str:
        return gateway_topic(self.district, self.gateway_id, suffix)

    def listen(self) -> None:
        """Subscribe to what the cloud sends this post: event acks and commands."""
        for s in (Suffix.EVENT_ACK, Suffix.CMD):
            self.client.subscribe(self.topic(s))

    def state(self, state: str = "online", session_id: str | None = None) -> int:
        st = GatewayState(
            state=state,
            session_id=session_id or self.session_id,
            firmware="0.1.0",
            config_hash="0" * 64,
        )
        return self.client.publish(self.topic(Suffix.STATE), st.encode(), retain=True).value

    def event(self, kind: str = "panic", **kw: Any) -> Event:
        self.seq += 1
        self.monotonic_ms += int(kw.pop("after_ms", 1000))
        fields: dict[str, Any] = {
            "event_id": uuid.uuid4(),
            "session_id": self.session_id,
            "boot_id": self.boot_id,
            "seq": self.seq,
            "monotonic_ms": self.monotonic_ms,
            "occurred_at": datetime.now(UTC),
            "clock_synced": True,
            "source": "button",
            "kind": kind,
            "input": "tombol_pencurian",
        }
        if kind == "panic":
            fields["incident_type"] = "pencurian"
        fields |= kw
        return Event(**fields)

    def send(self, ev: Event) -> int:
        return self.client.publish(self.topic(Suffix.EVENT), ev.encode()).value

    def press(self, **kw: Any) -> Event:
        ev = self.event("panic", **kw)
        rc = self.send(ev)
        assert rc < 0x80, f"publish refused: {rc:#x}"
        return ev

    def heartbeat(self, **kw: Any) -> None:
        self.client.publish(self.topic(Suffix.TELEMETRY), self.telemetry_payload(**kw))

    def telemetry_payload(self, **kw: Any) -> bytes:
        fields: dict[str, Any] = {
            "session_id": self.session_id,
            "sent_at": datetime.now(UTC),
            "clock_synced": True,
            "uptime_s": 60,
            "outbox_depth": 0,
            "shed_count": 0,
        }
        return Telemetry(**(fields | kw)).encode()
