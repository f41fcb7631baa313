"""The running cloud: database, MQTT link, intake, outbox workers and the fleet sweep.

`CloudRuntime` is what `kentongan-cloud worker` and `serve` start, and what tests start
in-process (with a manual clock and their own sinks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from types import TracebackType

from kentongan_protocol.provisioning.tree import Provisioning, ProvisioningError, load_tree

from kentongan_cloud.clock import Clock, SystemClock
from kentongan_cloud.domain.sites import Directory, build_directory
from kentongan_cloud.errors import ConfigError, NotFoundError
from kentongan_cloud.fleet.sweeper import Sweeper
from kentongan_cloud.intake.pipeline import Intake
from kentongan_cloud.mqtt_link import InboundMessage, MqttLink
from kentongan_cloud.operations import Operations
from kentongan_cloud.outbox.worker import OutboxWorker, Sinks
from kentongan_cloud.responders import Acknowledgement, Responders
from kentongan_cloud.settings import Settings
from kentongan_cloud.store.db import Database
from kentongan_cloud.wiring import Wired, undelivered, wire_sinks

_LOGGER = logging.getLogger(__name__)


def load_provisioning(settings: Settings) -> Provisioning:
    try:
        return load_tree(settings.config_dir)
    except ProvisioningError as exc:
        lines = "; ".join(str(p) for p in exc.problems[:10])
        msg = f"provisioning files in {settings.config_dir} have problems: {lines}"
        raise ConfigError(msg) from exc
    except OSError as exc:
        msg = f"cannot read provisioning files in {settings.config_dir}: {exc}"
        raise ConfigError(msg) from exc


class CloudRuntime:
    """Starts and stops the cloud's parts in this process.

    Without `sinks`, the real ones are built from the settings (responders, InfluxDB,
    Grafana: each when configured); with `sinks`, exactly those are used (tests, `--sinks`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        provisioning: Provisioning | None = None,
        clock: Clock | None = None,
        sinks: Sinks | None = None,
        mqtt: bool = True,
        outbox: bool = True,
        sweeper: bool = True,
        mqtt_wait_s: float = 15.0,
        responders_clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        # The responders' own time (acknowledgement timeouts, escalation): the demo moves it
        # ahead without making the fleet look silent; default: the cloud's clock.
        self._responders_clock = responders_clock
        self.sinks = sinks or Sinks()
        self._build_sinks = sinks is None
        self.wired: Wired | None = None
        self.responders: Responders | None = None
        self._responders_stop = asyncio.Event()
        self._prov = provisioning
        self._want_mqtt = mqtt
        self._want_outbox = outbox
        self._want_sweeper = sweeper
        self._mqtt_wait_s = mqtt_wait_s
        self._tasks: list[asyncio.Task[None]] = []
        self.link: MqttLink | None = None
        self.outbox: OutboxWorker | None = None
        self.sweeper: Sweeper | None = None

    async def start(self) -> CloudRuntime:
        s = self.settings
        prov = self._prov or load_provisioning(s)
        self.provisioning = prov
        self.directory: Directory = build_directory(prov)
        if not s.database.url:
            s.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(s.database_url, echo=s.database.echo)
        await self.db.migrate()
        async with self.db.transaction() as tx:
            await tx.fleet.sync(self.directory, prov.gateways.keys())
        if self._build_sinks:
            self.wired = await wire_sinks(
                s,
                self.db,
                prov.district,
                clock=self._responders_clock or self.clock,
                on_ack=self._on_responder_ack,
                delivery=self._want_outbox,
            )
            self.sinks = self.wired.sinks
            self.responders = self.wired.responders
        loop = asyncio.get_running_loop()
        if self._want_mqtt:
            self.link = MqttLink(
                s.mqtt, self.directory.district_id, loop=loop, on_message=self._on_mqtt
            )
        if self._want_outbox:
            self.outbox = OutboxWorker(
                self.db,
                self.clock,
                s.outbox,
                self.sinks,
                district=self.directory.district_id,
                publisher=self.link,
            )
            if self.link is not None:
                self.link.on_connected = self.outbox.wake
        # Sinks handed in (tests, --sinks) deliver what they deliver; built from settings,
        # a kind nobody is configured to deliver is not written at all.
        skip = undelivered(s) if self._build_sinks else frozenset()
        if skip:
            _LOGGER.info(
                "not configured, so not written: %s (side effects nobody would deliver)",
                ", ".join(sorted(skip)),
            )
        self.intake = Intake(
            self.db,
            self.directory,
            self.clock,
            command_expiry_s=s.mqtt.command_expiry_s,
            heartbeat_factor=s.fleet.heartbeat_factor,
            max_batch=s.intake.max_batch,
            publish=self.link.publish_nowait if self.link else None,
            on_commit=self.outbox.wake if self.outbox else None,
            points=self.sinks.points,
            realert_after=timedelta(minutes=s.fleet.realert_after_min),
            undelivered=skip,
        )
        self.operations = Operations(
            self.db,
            self.directory,
            self.clock,
            s.mqtt.command_expiry_s,
            on_commit=self.outbox.wake if self.outbox else None,
            on_operator_ack=self._on_operator_ack if self.responders else None,
            undelivered=skip,
        )
        if self._want_sweeper:
            self.sweeper = Sweeper(
                self.db,
                self.directory,
                self.clock,
                s.fleet,
                command_expiry_s=s.mqtt.command_expiry_s,
                retention_days=s.retention_days,
                undelivered=skip,
            )
        self._spawn_tasks()
        if self.link is not None:
            self.link.start()
            try:
                await self.link.wait_connected(self._mqtt_wait_s)
            except ConnectionError:
                if self.link.fatal:
                    await self.stop()
                    raise ConfigError(self.link.fatal) from None
                _LOGGER.warning("broker not reachable yet; the link keeps trying")
        _LOGGER.info(
            "cloud started for district %s: %d gateways, database %s",
            self.directory.district_id,
            len(self.directory.sites),
            self.db.dialect,
        )
        return self

    def _spawn_tasks(self) -> None:
        self._spawn("intake", self.intake.run())
        checkpointer = self.db.checkpointer()
        if checkpointer is not None:
            self._spawn("checkpoint", checkpointer)
        if self.outbox is not None:
            self._spawn("outbox", self.outbox.run())
        if self.sweeper is not None:
            self._spawn("sweeper", self.sweeper.run())
        if self.responders is not None and self._want_outbox:
            self._responders_stop.clear()
            self._spawn("responders", self.responders.run(self._responders_stop))

    def _spawn(self, name: str, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.append(task)

    async def _on_responder_ack(self, ack: Acknowledgement) -> None:
        """A responder's acknowledgement goes on the incident's timeline."""
        text = f"Diterima oleh {ack.person_name} ({ack.agency_name}) lewat {ack.channel}"
        try:
            await self.operations.note(ack.incident_id, f"responder:{ack.person_id}"[:64], text)
        except NotFoundError:
            _LOGGER.warning("acknowledgement for unknown incident %s", ack.incident_id)

    async def _on_operator_ack(self, incident_id: str, operator: str) -> None:
        """The command centre took the incident: the responders' escalation stops."""
        if self.responders is None:
            return
        try:
            # Actors read "role:username"; the responders record "operator:<username>".
            await self.responders.acks.by_operator(incident_id, operator.rpartition(":")[2])
        except Exception:
            # The incident step is committed; escalation goes on, and says so in the log.
            _LOGGER.exception("could not stop escalation of incident %s", incident_id)

    def _on_mqtt(self, msg: InboundMessage) -> None:
        link = self.link
        if link is None:
            return
        self.intake.offer(msg.topic, msg.payload, lambda: link.ack(msg))

    async def _cancel_tasks(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []

    async def stop(self) -> None:
        """Orderly stop: no new work, connection closed, sinks flushed, pools disposed."""
        self._responders_stop.set()
        await self._cancel_tasks()
        if self.link is not None:
            self.link.stop()
        if self.wired is not None:
            await self.wired.aclose()
        await self.db.close()

    async def crash(self) -> None:
        """Stop as a kill -9 would, as far as the broker and database can tell (tests)."""
        if self.link is not None:
            self.link.kill()
        await self._cancel_tasks()
        self.db.sever()
        if self.wired is not None:
            await self.wired.aclose()
        await self.db.close()

    async def __aenter__(self) -> CloudRuntime:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
