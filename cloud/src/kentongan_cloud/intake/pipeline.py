"""The intake loop: batch what arrived, commit it, then acknowledge (never before the commit).

While one batch commits, the next gathers in the queue, so batches grow with the load and
the commit cost is shared (group commit) without waiting when the line is quiet.

Two such lanes run side by side: presses, cancels and reports (what a person waits on) in
one, everything else (heartbeats, telemetry, state, battery and tamper events) in the other.
On PostgreSQL each lane has its own connection, so a press no longer waits for the
transaction of the background batch ahead of it (press to transaction start p50 22.7 ->
11.6 ms at 1,000 events/s; on 2 busy cores press to visible stayed where it was, README).
A stuck background transaction no longer holds presses up. Every incident change stays in
the one lane, in arrival order; the lanes meet only on gateway rows, which the load locks
(fleet.py), as two workers on a `$share/` group already do. SQLite's one connection takes
them in turn.

A batch that fails is retried, then split: each message alone, and a message that still
cannot be committed goes to the dead-letter table and is acknowledged, so one poisoned
message never blocks the broker's in-flight window. When the database itself is down,
nothing is acknowledged: the loop holds the batch and tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta

from kentongan_protocol.payloads import INCIDENT_KINDS, MAX_ACK_IDS, EventAck
from kentongan_protocol.topics import Suffix, gateway_topic

from kentongan_cloud.clock import Clock
from kentongan_cloud.domain.sites import Directory
from kentongan_cloud.effects import REALERT_AFTER, Effects
from kentongan_cloud.errors import DatabaseUnavailableError
from kentongan_cloud.intake.classify import EventItem, Item, Rejected, classify_mqtt
from kentongan_cloud.intake.ingest import ItemResult, ingest
from kentongan_cloud.ports import PointSink
from kentongan_cloud.records import OutboxKind
from kentongan_cloud.store.db import Database, is_retryable
from kentongan_cloud.timeseries import measurements

_LOGGER = logging.getLogger(__name__)
_RETRIES = 3


@dataclass
class Envelope:
    """A message waiting for its commit: MQTT bytes, or an HTTP item with a waiting caller."""

    topic: str
    payload: bytes
    ack: Callable[[], None] | None = None
    item: Item | None = None
    rejected: Rejected | None = None  # classified on arrival and refused
    future: asyncio.Future[ItemResult] | None = None
    result: ItemResult | None = None
    dead: bool = False
    done: bool = False  # committed and acknowledged: a retry of its batch leaves it out
    received: float = field(default_factory=time.monotonic)


@dataclass
class IntakeStats:
    """What this process did (the database holds the counts all workers share)."""

    batches: int = 0
    committed: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    largest_batch: int = 0


class Intake:
    """Batches, commits and acknowledges; one instance per worker process."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        clock: Clock,
        *,
        command_expiry_s: int,
        heartbeat_factor: float,
        max_batch: int = 500,
        publish: Callable[[str, bytes], None] | None = None,
        on_commit: Callable[[Collection[OutboxKind]], None] | None = None,
        points: PointSink | None = None,
        realert_after: timedelta = REALERT_AFTER,
        undelivered: frozenset[OutboxKind] = frozenset(),
    ) -> None:
        self.db = db
        self.realert_after = realert_after
        self.undelivered = undelivered
        self.directory = directory
        self.clock = clock
        self.max_batch = max_batch
        self.publish = publish
        self.on_commit = on_commit
        self.points = points
        self.heartbeat_factor = heartbeat_factor
        self.command_expiry_s = command_expiry_s
        self.urgent: asyncio.Queue[Envelope] = asyncio.Queue()  # what a person waits on
        self.queue: asyncio.Queue[Envelope] = asyncio.Queue()  # everything else
        self.stats = IntakeStats()

    def offer(self, topic: str, payload: bytes, ack: Callable[[], None] | None) -> None:
        """Take an MQTT message (on the event loop's thread) into its lane."""
        try:
            found = classify_mqtt(topic, payload, self.directory)
        except Exception:
            # A bug, not bad input (that is Rejected): logged, and left to the background
            # batch, which meets it again and retries; never acknowledged, so never lost.
            _LOGGER.exception("could not classify a message on %s", topic[:120])
            self.queue.put_nowait(Envelope(topic, payload, ack))
            return
        if isinstance(found, Rejected):
            self.queue.put_nowait(Envelope(topic, payload, ack, rejected=found))
            return
        env = Envelope(topic, payload, ack, item=found)
        (self.urgent if _urgent(env, found) else self.queue).put_nowait(env)

    async def submit(self, item: EventItem) -> ItemResult:
        """Commit an HTTP-sourced event through the same path; returns after the commit."""
        fut: asyncio.Future[ItemResult] = asyncio.get_running_loop().create_future()
        self.urgent.put_nowait(Envelope("http", b"", item=item, future=fut))
        return await fut

    async def run(self) -> None:
        """Forever, in both lanes: gather a batch, commit it, acknowledge it."""
        await asyncio.gather(self._lane(self.urgent), self._lane(self.queue))

    async def _lane(self, queue: asyncio.Queue[Envelope]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            await self._until_done(batch)

    async def _until_done(self, batch: list[Envelope]) -> None:
        delay = 0.2
        while True:
            batch = [env for env in batch if not env.done]
            try:
                await self.handle(batch)
            except (DatabaseUnavailableError, OSError) as exc:
                _LOGGER.warning(
                    "database unavailable, holding %d messages unacknowledged: %s", len(batch), exc
                )
            except Exception:
                _LOGGER.exception("intake batch of %d failed; retrying", len(batch))
            else:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _effects(self) -> Effects:
        return Effects.build(
            self.directory, self.command_expiry_s, self.undelivered, self.realert_after
        )

    async def handle(self, batch: list[Envelope]) -> None:
        """Commit one batch, then publish event acks, then acknowledge to the broker."""
        rejected: dict[str, tuple[int, str]] = {}
        work: list[tuple[Envelope, Item]] = []
        for env in batch:
            item = env.item
            if item is None:
                found = env.rejected or classify_mqtt(env.topic, env.payload, self.directory)
                if isinstance(found, Rejected):
                    n, _ = rejected.get(found.reason, (0, ""))
                    rejected[found.reason] = (n + 1, found.detail)
                    _LOGGER.warning(
                        "rejected message on %s (%s): %s; payload %r",
                        env.topic[:120],
                        found.reason,
                        found.detail[:200],
                        env.payload[:80],
                    )
                    continue
                item = env.item = found
            work.append((env, item))
        kinds: set[OutboxKind] = set()
        await self._commit(work, rejected, kinds)
        self._acknowledge(batch, rejected, kinds)

    async def _commit(
        self,
        work: list[tuple[Envelope, Item]],
        rejected: dict[str, tuple[int, str]],
        kinds: set[OutboxKind],
    ) -> None:
        """Commit `work`; adds the outbox kinds written to `kinds`."""
        err = await self._try(work, rejected, kinds)
        if err is None:
            return
        if len(work) > 1:
            _LOGGER.warning("batch of %d failed (%s); committing one by one", len(work), err)
        for env, item in work:
            one_err = await self._try([(env, item)], {}, kinds)
            if one_err is not None:
                await self._dead_letter(env, item, one_err)
        if rejected:
            async with self.db.transaction() as tx:
                await tx.intake.count_rejections(rejected, self.clock.now())

    async def _try(
        self,
        work: list[tuple[Envelope, Item]],
        rejected: dict[str, tuple[int, str]],
        kinds: set[OutboxKind],
    ) -> str | None:
        """Commit `work` as one transaction; None on success, else the last error in words."""
        last = ""
        for _ in range(_RETRIES):
            now = self.clock.now()
            effects = self._effects()
            try:
                async with self.db.transaction() as tx:
                    results = await ingest(
                        tx, [i for _, i in work], effects, now, self.heartbeat_factor
                    )
                    await tx.intake.count_rejections(rejected, now)
            except DatabaseUnavailableError:
                raise
            except Exception as exc:
                last = f"{type(exc).__name__}: {str(exc)[:300]}"
                if not is_retryable(exc):
                    return last
                continue
            for (env, _), res in zip(work, results, strict=True):
                env.result = res
            kinds |= effects.kinds_written
            return None
        return last

    async def _dead_letter(self, env: Envelope, item: Item, error: str) -> None:
        payload = env.payload
        if isinstance(item, EventItem) and not payload:
            payload = item.event.encode()
        _LOGGER.error("dead-lettering message on %s: %s", env.topic[:120], error)
        try:
            async with self.db.transaction() as tx:
                await tx.intake.dead_letter(env.topic, payload, error, self.clock.now())
        except Exception as exc:
            msg = f"cannot write the dead-letter table: {exc}"
            raise DatabaseUnavailableError(msg) from exc
        env.dead = True
        env.result = ItemResult("committed", None, "dead_letter")
        self.stats.dead_letters += 1

    def _acknowledge(
        self,
        batch: list[Envelope],
        rejected: dict[str, tuple[int, str]],
        kinds: set[OutboxKind],
    ) -> None:
        st = self.stats
        st.batches += 1
        st.largest_batch = max(st.largest_batch, len(batch))
        for reason, (n, _) in rejected.items():
            st.rejected[reason] += n
        acks: dict[str, list[str]] = defaultdict(list)
        for env in batch:
            res = env.result
            if res is None:
                continue
            st.duplicates += res.outcome == "duplicate"
            st.committed += res.outcome == "committed"
            item = env.item
            # Only gateways get event/ack; phone and web callers get the HTTP answer.
            if env.future is None and isinstance(item, EventItem) and item.gateway_id:
                acks[item.gateway_id].append(str(item.event.event_id))
            if env.future is not None and not env.future.done():
                env.future.set_result(res)
        self._publish_acks(acks)
        self._latency_points(batch)
        for env in batch:
            env.done = True
            if env.ack is not None:
                env.ack()
        if self.on_commit is not None:
            self.on_commit(kinds)

    def _latency_points(self, batch: list[Envelope]) -> None:
        """An `intake` point per event that became an incident change. Written straight to
        the sink after the commit (its time is only known now): a metric, best effort."""
        if self.points is None:
            return
        points = []
        committed = self.clock.now()
        mono = time.monotonic()
        for env in batch:
            item, res = env.item, env.result
            if not isinstance(item, EventItem) or res is None or res.outcome != "committed":
                continue
            if res.incident_id is None or env.dead:
                continue
            ev = item.event
            live = not ev.historical and ev.clock_synced
            points.append(
                measurements.intake_latency(
                    measurements.Place(
                        self.directory.district_id,
                        item.place.kecamatan,
                        item.place.kampung,
                        item.gateway_id,
                    ),
                    source=ev.source,
                    received_at=committed - timedelta(seconds=mono - env.received),
                    committed_at=committed,
                    occurred_at=ev.occurred_at if live else None,
                )
            )
        if points:
            try:
                self.points.write(points)
            except Exception:
                _LOGGER.exception("could not hand %d intake points to the writer", len(points))

    def _publish_acks(self, acks: dict[str, list[str]]) -> None:
        if self.publish is None:
            return
        district = self.directory.district_id
        for gid, ids in acks.items():
            topic = gateway_topic(district, gid, Suffix.EVENT_ACK)
            for i in range(0, len(ids), MAX_ACK_IDS):
                ack = EventAck(event_ids=ids[i : i + MAX_ACK_IDS])
                self.publish(topic, ack.encode())


def _urgent(env: Envelope, item: Item) -> bool:
    """What someone is waiting on: an activation or cancel (a person pressed, a sensor
    tripped), or a phone's or the web form's report whose sender waits for the answer."""
    if env.future is not None:
        return True
    if not isinstance(item, EventItem):
        return False
    ev = item.event
    return ev.kind == "cancel" or (ev.kind in INCIDENT_KINDS and ev.incident_type is not None)
