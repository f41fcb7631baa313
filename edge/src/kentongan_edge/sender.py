"""Moving outbox rows to the broker: live events first, then resends, then the backlog,
telemetry last; forgetting a row only on the cloud's `event/ack`.

- *Live* means made in this daemon session less than `live_window_s` ago. Anything else
  (older, or from before a restart) goes out with `historical=true`, decided at each send,
  so the cloud never sounds sirens for a stale panic.
- At most `window` publishes wait for their PUBACK, so a new panic queues behind at most
  that many messages even during a 100,000-event drain. The backlog also stops while
  `max_unacked` rows wait for the cloud's acknowledgement; live events ignore that limit.
- A PUBACK is not delivery. After one, the row waits for `event/ack`; without it the row
  is sent again after `resend_after_s`, then after doubling delays (capped). A PUBACK with
  0x87 (not authorised: revoked, or a wrong topic) is a failure: logged loudly, the row is
  kept and retried the same way.
- A PUBACK with 0x10 (no subscriber) says for certain that nobody got the row: the cloud's
  subscription is gone, typically for the seconds after a broker restart until the cloud
  subscribes again. Those rows retry sooner (from `NO_SUBSCRIBER_RETRY_S`, doubling, capped),
  and all at once as soon as any event/ack shows the cloud is back.
- Rows whose PUBACK never came because the connection dropped go out right after the live
  ones when the link is back; duplicates always carry the same event_id.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from kentongan_protocol.payloads import Event

from kentongan_edge.errors import OutboxError
from kentongan_edge.outbox import EVENT_CLS, TELEMETRY_CLS, Outbox, Row
from kentongan_edge.timers import Handle, Timers

_LOGGER = logging.getLogger(__name__)

NO_SUBSCRIBERS = 0x10
NOT_AUTHORISED = 0x87
SCAN_BATCH = 500
RESEND_CAP_S = 300.0
NO_SUBSCRIBER_RETRY_S = 0.5


class Publisher(Protocol):
    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> int | None: ...


@dataclass(frozen=True, slots=True)
class SenderSettings:
    resend_after_s: float = 10.0
    window: int = 100
    max_unacked: int = 2000
    live_window_s: float = 60.0
    live_queue_max: int = 1000


@dataclass(slots=True)
class _Waiting:
    row: Row
    due: float


class Sender:
    """See the module docstring. All methods run on the event loop."""

    def __init__(
        self,
        outbox: Outbox,
        timers: Timers,
        *,
        event_topic: str,
        telemetry_topic: str,
        session_id: str,
        settings: SenderSettings = SenderSettings(),
        log: logging.LoggerAdapter[logging.Logger] | logging.Logger = _LOGGER,
    ) -> None:
        self._outbox = outbox
        self._timers = timers
        self._topics = {EVENT_CLS: event_topic, TELEMETRY_CLS: telemetry_topic}
        self._session = session_id
        self.settings = settings
        self._log = log
        self._link: Publisher | None = None
        self._live: deque[Row] = deque()
        self._resend: deque[Row] = deque()
        self._backlog: deque[Row] = deque()
        self._cursor = {EVENT_CLS: 0, TELEMETRY_CLS: 0}
        self._scanned = {EVENT_CLS: False, TELEMETRY_CLS: False}
        self._inflight: dict[int, Row] = {}
        self._waiting: dict[int, _Waiting] = {}
        self._due: list[tuple[float, int]] = []
        self._attempts: dict[int, int] = {}
        # Rows whose last PUBACK was 0x10, with how many in a row.
        self._unheard: dict[int, int] = {}
        self._known: set[int] = set()
        self._gone: set[int] = set()
        self._telemetry_done: list[int] = []
        self._timer: Handle | None = None
        self._timer_at = 0.0
        self.published = 0
        self.resent = 0
        self.failures: dict[int, int] = {}

    # --- state -------------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._link is not None

    def waiting_for_ack(self) -> set[str]:
        """Event ids PUBACKed (or refused) and now waiting for the cloud's event/ack."""
        return {w.row.event_id for w in self._waiting.values() if w.row.event_id}

    def in_flight(self) -> int:
        return len(self._inflight)

    # --- inputs ------------------------------------------------------------------------------

    def connected(self, link: Publisher) -> None:
        if self._inflight:
            # A new connection without the old one's end being seen: their PUBACK will never
            # come, and the new connection's message ids would overwrite them.
            self.disconnected()
        self._link = link
        self._backlog.clear()
        # Whatever is in no queue any more is found again by the backlog scan.
        self._known = {
            row.id for row in (*self._live, *self._resend, *(w.row for w in self._waiting.values()))
        }
        self._cursor = {EVENT_CLS: 0, TELEMETRY_CLS: 0}
        self._scanned = {EVENT_CLS: False, TELEMETRY_CLS: False}
        self.pump()

    def disconnected(self) -> None:
        self._link = None
        # Their PUBACK will never come: they go first after the reconnect.
        self._resend.extendleft(reversed(list(self._inflight.values())))
        self._inflight.clear()

    def offer(self, row: Row) -> None:
        """A row just written to the outbox."""
        self._live.append(row)
        self._known.add(row.id)
        while len(self._live) > self.settings.live_queue_max:
            # Too many to hold in RAM: leave the oldest to the backlog scan.
            old = self._live.popleft()
            self._known.discard(old.id)
            self._cursor[old.cls] = min(self._cursor[old.cls], old.id - 1)
            self._scanned[old.cls] = False
        self.pump()

    def forget(self, row_ids: list[int]) -> None:
        """Rows deleted from the outbox (acknowledged or shed)."""
        for rid in row_ids:
            self._known.discard(rid)
            self._waiting.pop(rid, None)
            self._attempts.pop(rid, None)
            self._unheard.pop(rid, None)
            self._gone.add(rid)

    def acknowledged(self, event_ids: list[str]) -> None:
        """The cloud's event/ack: these are committed and may be forgotten."""
        try:
            removed = self._outbox.acknowledge(event_ids)
        except OutboxError:
            self._log.exception("cannot remove acknowledged events; they will be sent again")
            return
        self.forget(removed)
        self._cloud_is_back()
        self.pump()

    def _cloud_is_back(self) -> None:
        """An event/ack arrived: rows refused for want of a subscriber go again now."""
        if not self._unheard:
            return
        now = self._timers.time()
        for rid in list(self._unheard):
            waiting = self._waiting.get(rid)
            if waiting is not None and waiting.due > now:
                waiting.due = now
                heapq.heappush(self._due, (now, rid))
        self._unheard.clear()

    def published_ack(self, mid: int, code: int) -> None:
        """The broker's PUBACK for one of our publishes."""
        row = self._inflight.pop(mid, None)
        if row is None or row.id in self._gone:
            self.pump()
            return
        if not row.is_event and code < 0x80:
            self._known.discard(row.id)
            self._telemetry_done.append(row.id)
            self._schedule(self._timers.time() + 0.2)
        else:
            if code in (NO_SUBSCRIBERS, NOT_AUTHORISED) or code >= 0x80:
                self._refused(row, code)
            if code == NO_SUBSCRIBERS:
                k = self._unheard[row.id] = self._unheard.get(row.id, 0) + 1
                delay = min(NO_SUBSCRIBER_RETRY_S * 2 ** (k - 1), RESEND_CAP_S)
            else:
                self._unheard.pop(row.id, None)
                n = self._attempts.get(row.id, 1)
                delay = min(self.settings.resend_after_s * 2 ** (n - 1), RESEND_CAP_S)
                delay = max(delay, self.settings.resend_after_s)
            due = self._timers.time() + delay
            self._waiting[row.id] = _Waiting(row, due)
            heapq.heappush(self._due, (due, row.id))
            self._schedule(due)
        self.pump()

    def _refused(self, row: Row, code: int) -> None:
        n = self.failures[code] = self.failures.get(code, 0) + 1
        if n > 1 and n % 100:
            return
        what = "event" if row.is_event else "telemetry"
        if code == NOT_AUTHORISED:
            self._log.error(
                "BROKER REFUSED %s %s: not authorised (PUBACK 0x87, %d so far). The gateway may "
                "be revoked or publishing on a wrong topic. Kept in the outbox, retrying.",
                what,
                row.event_id or row.id,
                n,
            )
        elif code == NO_SUBSCRIBERS:
            self._log.warning(
                "nobody subscribed to %s (PUBACK 0x10, %d so far): the cloud's session is gone. "
                "Kept in the outbox, retrying.",
                self._topics[row.cls],
                n,
            )
        else:
            self._log.error("broker failed %s %s: PUBACK 0x%02x", what, row.event_id, code)

    # --- sending -----------------------------------------------------------------------------

    def pump(self) -> None:
        """Publish as much as the window allows, in priority order."""
        link = self._link
        if link is None:
            return
        now = self._timers.time()
        self._collect_due(now)
        while len(self._inflight) < self.settings.window:
            row = self._next()
            if row is None:
                break
            mid = link.publish(self._topics[row.cls], self._payload(row), qos=1)
            if mid is None:
                self._resend.appendleft(row)
                break
            self._inflight[mid] = row
            self._known.add(row.id)
            n = self._attempts[row.id] = self._attempts.get(row.id, 0) + 1
            self.published += 1
            self.resent += n > 1
        if not (self._live or self._resend or self._backlog or self._inflight):
            self._gone.clear()

    def _next(self) -> Row | None:
        for queue in (self._live, self._resend):
            while queue:
                row = queue.popleft()
                if row.id not in self._gone:
                    return row
        if len(self._waiting) + len(self._inflight) >= self.settings.max_unacked:
            return None
        while True:
            while self._backlog:
                row = self._backlog.popleft()
                if row.id not in self._known and row.id not in self._gone:
                    return row
            if not self._refill():
                return None

    def _refill(self) -> bool:
        for cls in (EVENT_CLS, TELEMETRY_CLS):
            if self._scanned[cls]:
                continue
            rows = self._outbox.scan(cls, after_id=self._cursor[cls], limit=SCAN_BATCH)
            if not rows:
                self._scanned[cls] = True
                continue
            self._cursor[cls] = rows[-1].id
            self._backlog.extend(rows)
            return True
        return False

    def is_historical(self, row: Row, now_ms: int | None = None) -> bool:
        if row.session_id != self._session:
            return True
        now_ms = int(time.monotonic() * 1000) if now_ms is None else now_ms
        return now_ms - row.monotonic_ms > self.settings.live_window_s * 1000

    def _payload(self, row: Row) -> bytes:
        if not row.is_event or not self.is_historical(row):
            return row.payload
        event = Event.model_validate_json(row.payload)
        return event.model_copy(update={"historical": True}).encode()

    # --- timers ------------------------------------------------------------------------------

    def _collect_due(self, now: float) -> None:
        while self._due and self._due[0][0] <= now:
            due, rid = heapq.heappop(self._due)
            waiting = self._waiting.get(rid)
            if waiting is None or waiting.due != due:
                continue
            del self._waiting[rid]
            self._resend.append(waiting.row)

    def _schedule(self, at: float) -> None:
        if self._timer is not None and self._timer_at <= at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self._timers.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._telemetry_done:
            done, self._telemetry_done = self._telemetry_done, []
            try:
                self._outbox.remove(done)
            except OutboxError:
                self._log.exception("cannot remove sent telemetry")
        self.pump()
        if self._due:
            self._schedule(self._due[0][0])

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._telemetry_done:
            self._outbox.remove(self._telemetry_done)
            self._telemetry_done = []
