"""The time-series writer: batches points off the hot path and never loses them to an outage.

`write()` only appends to a bounded in-memory queue and returns; one worker thread encodes
batches and sends them (gzip) through a `LineSender`. When the store is down, batches go to a
bounded on-disk spool and are sent, oldest first, once it answers again; a restart of the
cloud keeps the spool. `flush()` is a real flush: it returns when every point accepted before
it is written or safely spooled. Counters tell how many points were written, spooled, dropped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from kentongan_cloud.ports import TimePoint
from kentongan_cloud.timeseries.errors import SpoolError, WriteFailedError, WriteRejectedError
from kentongan_cloud.timeseries.spool import Spool, SpooledBatch

_LOGGER = logging.getLogger(__name__)


class LineSender(Protocol):
    """Encodes points as line protocol and sends one encoded batch (influx.InfluxTransport)."""

    def encode(self, points: Iterable[TimePoint]) -> list[bytes]: ...

    def send(self, body: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class WriterOptions:
    """How the writer batches, how much it holds, and how it retries."""

    spool_path: Path
    batch_size: int = 1000
    flush_interval_s: float = 1.0
    max_queued_points: int = 100_000
    spool_max_points: int = 2_000_000
    retry_initial_s: float = 1.0
    retry_max_s: float = 60.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= self.max_queued_points:
            msg = "batch_size must be between 1 and max_queued_points"
            raise ValueError(msg)
        if self.spool_max_points < self.batch_size:
            msg = "spool_max_points must hold at least one batch"
            raise ValueError(msg)
        if self.flush_interval_s <= 0 or not 0 < self.retry_initial_s <= self.retry_max_s:
            msg = "intervals must be positive and retry_initial_s <= retry_max_s"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters since start (points), and what waits right now."""

    accepted: int
    written: int
    spooled: int
    dropped: int
    rejected: int
    queued: int
    spool_points: int
    outage: bool


class TimeSeriesWriter:
    """A `PointSink` for InfluxDB: non-blocking `write`, batched delivery, outage spool."""

    def __init__(self, sender: LineSender, options: WriterOptions) -> None:
        self._sender = sender
        self._opts = options
        self._spool = Spool(options.spool_path, max_points=options.spool_max_points)
        self._cond = threading.Condition()
        self._queue: deque[TimePoint] = deque()
        self._oldest_at = 0.0
        self._flush_requests = 0
        self._closing = False
        self._accepted = 0
        self._settled = 0
        self._written = 0
        self._spooled = 0
        self._dropped = 0
        self._rejected = 0
        self._outage = False
        self._backoff = options.retry_initial_s
        self._retry_at = 0.0
        self._thread = threading.Thread(target=self._run, name="kentongan-timeseries", daemon=True)

    # --- the caller's side ---------------------------------------------------------------------

    def start(self) -> Self:
        """Start the worker; points already in the spool from an earlier run are sent first."""
        self._thread.start()
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, points: Sequence[TimePoint]) -> None:
        """Queue points for delivery; never waits for the network or the disk."""
        if not points:
            return
        with self._cond:
            if self._closing:
                self._dropped += len(points)
                _LOGGER.error("time-series writer is closed: %d points dropped", len(points))
                return
            room = self._opts.max_queued_points - len(self._queue)
            if room < len(points):
                lost = len(points) - max(room, 0)
                self._dropped += lost
                _LOGGER.warning("time-series queue full: %d points dropped", lost)
                points = points[: max(room, 0)]
            was_empty = not self._queue
            if was_empty:
                self._oldest_at = time.monotonic()
            self._queue.extend(points)
            self._accepted += len(points)
            # Wake the worker when its deadline changes (first point) or a batch is full.
            if was_empty or len(self._queue) >= self._opts.batch_size:
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is queued now; True once every point accepted so far is written or spooled."""
        with self._cond:
            target = self._accepted
            self._flush_requests += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(
                    lambda: self._settled >= target or not self._thread.is_alive(), timeout
                ) and (self._settled >= target)
            finally:
                self._flush_requests -= 1

    def wait_written(self, timeout: float | None = None) -> bool:
        """True once nothing waits in memory or in the spool: everything reached the store."""
        with self._cond:
            self._flush_requests += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(self._all_written, timeout) and self._all_written()
            finally:
                self._flush_requests -= 1

    def close(self, timeout: float = 30.0) -> WriterStats:
        """Flush, then stop: what the store cannot take now stays in the spool for next time."""
        if self._thread.is_alive():
            self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        stats = self.stats()
        if self._thread.is_alive():
            _LOGGER.error("time-series writer did not stop in %.0f s", timeout)
        else:
            self._spool.close()
            self._sender.close()
        if stats.queued:
            _LOGGER.error("time-series writer closed with %d points unsent", stats.queued)
        return stats

    def stats(self) -> WriterStats:
        with self._cond:
            return WriterStats(
                accepted=self._accepted,
                written=self._written,
                spooled=self._spooled,
                dropped=self._dropped,
                rejected=self._rejected,
                queued=self._accepted - self._settled,
                spool_points=self._spool.points,
                outage=self._outage,
            )

    def _all_written(self) -> bool:
        return (
            self._settled >= self._accepted and self._spool.points == 0
        ) or not self._thread.is_alive()

    # --- the worker thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
                if batch is None and self._closing and not self._queue:
                    return
            if batch:
                self._deliver(batch)
            elif self._spool.points and self._may_send():
                self._drain_one()

    def _next_batch(self) -> list[TimePoint] | None:
        """Wait (holding the lock) until a batch is due or the spool may be drained."""
        opts = self._opts
        while True:
            now = time.monotonic()
            queued = len(self._queue)
            due = queued and (
                queued >= opts.batch_size
                or self._flush_requests
                or self._closing
                or now - self._oldest_at >= opts.flush_interval_s
            )
            if due:
                size = min(queued, opts.batch_size)
                batch = [self._queue.popleft() for _ in range(size)]
                self._oldest_at = now
                return batch
            if self._closing:
                return None
            if self._spool.points and (not self._outage or now >= self._retry_at):
                return None
            deadlines = []
            if queued:
                deadlines.append(self._oldest_at + opts.flush_interval_s)
            if self._spool.points:
                deadlines.append(self._retry_at)
            wait = max(0.0, min(deadlines) - now) if deadlines else None
            self._cond.wait(wait)

    def _may_send(self) -> bool:
        return not self._outage or time.monotonic() >= self._retry_at

    def _deliver(self, batch: list[TimePoint]) -> None:
        lines = self._sender.encode(batch)
        unencodable = len(batch) - len(lines)
        if not self._may_send():
            # Known outage: do not wait on the network, spool at once.
            self._to_spool(lines)
        else:
            try:
                self._sender.send(b"\n".join(lines))
            except WriteRejectedError as exc:
                self._count(rejected=len(lines))
                _LOGGER.error(  # noqa: TRY400 - the store's answer says it all
                    "InfluxDB refused a batch of %d points: %s", len(lines), exc
                )
            except WriteFailedError as exc:
                self._failed(exc)
                self._to_spool(lines)
            else:
                self._healthy()
                self._count(written=len(lines))
        with self._cond:
            if unencodable:
                self._rejected += unencodable
                self._dropped += unencodable
            self._settled += len(batch)
            self._cond.notify_all()

    def _drain_one(self) -> None:
        batch: SpooledBatch | None = self._spool.oldest()
        if batch is None:
            return
        try:
            self._sender.send(batch.body)
        except WriteRejectedError as exc:
            self._spool.remove(batch)
            self._count(rejected=batch.points)
            _LOGGER.error(  # noqa: TRY400 - the store's answer says it all
                "InfluxDB refused a spooled batch of %d points: %s", batch.points, exc
            )
        except WriteFailedError as exc:
            self._failed(exc)
        else:
            self._spool.remove(batch)
            self._healthy()
            self._count(written=batch.points)
        with self._cond:
            self._cond.notify_all()

    def _to_spool(self, lines: list[bytes]) -> None:
        if not lines:
            return
        try:
            lost = self._spool.put(lines)
        except SpoolError:
            _LOGGER.exception("time-series spool failed: %d points dropped", len(lines))
            self._count(dropped=len(lines))
            return
        self._count(spooled=len(lines), dropped=lost)
        if lost:
            _LOGGER.warning("time-series spool full: dropped the %d oldest points", lost)

    def _count(
        self, *, written: int = 0, spooled: int = 0, dropped: int = 0, rejected: int = 0
    ) -> None:
        with self._cond:
            self._written += written
            self._spooled += spooled
            self._dropped += dropped + rejected
            self._rejected += rejected

    def _failed(self, exc: WriteFailedError) -> None:
        with self._cond:
            if self._outage:
                self._backoff = min(self._backoff * 2, self._opts.retry_max_s)
            else:
                self._backoff = self._opts.retry_initial_s
                _LOGGER.warning("InfluxDB unavailable, spooling points to disk: %s", exc)
            self._outage = True
            self._retry_at = time.monotonic() + self._backoff * random.uniform(0.8, 1.2)

    def _healthy(self) -> None:
        with self._cond:
            if self._outage:
                _LOGGER.info("InfluxDB is back; %d points wait in the spool", self._spool.points)
            self._outage = False
            self._backoff = self._opts.retry_initial_s
