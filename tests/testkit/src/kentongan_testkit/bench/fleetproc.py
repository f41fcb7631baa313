"""One load-generator process: a slice of the virtual gateways on its own event loop (its own
paho clients), driven by the parent over a pipe.

Requests are `(request_id, method, args)`; each runs on a thread of its own so a long one
(background load) never holds up a press, and its reply is `(request_id, ok, value)`. Press
times are taken here, just before the press, as wall-clock seconds keyed by event_id: the
parent compares them with the cloud's commit times (same machine, same clock)."""

from __future__ import annotations

import random
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kentongan_cloud import heap
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions
from kentongan_protocol.payloads import EventKind
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import load_tree

BACKGROUND_KIND: EventKind = "battery_low"
BACKGROUND_INPUT = "aki_lemah"
START_BATCH = 100


@dataclass(frozen=True)
class SliceSpec:
    """What a load-generator process needs to run its gateways (picklable)."""

    config_dir: Path
    secrets_dir: Path
    broker_port: int
    gateway_ids: tuple[str, ...]
    heartbeat_s: float


class Slice:
    """The gateways of one process and what the parent may ask of them."""

    def __init__(self, spec: SliceSpec) -> None:
        self.spec = spec
        self.fleet = VirtualFleet()
        self.gws: dict[str, VirtualGateway] = {}
        self.acked: dict[str, float] = {}  # event_id → when its event/ack reached the post
        self._watched: set[str] = set()

    def start(self) -> int:
        spec = self.spec
        prov = load_tree(spec.config_dir)
        store = SecretStore(spec.secrets_dir)
        profile = EdgeProfile.from_district(prov.district)
        options = VirtualOptions(
            durable=False,
            heartbeat_s=spec.heartbeat_s,
            analog_poll_s=3600.0,
            keep_events=64,
            keepalive_s=10,
            reconnect_min_s=0.5,
            reconnect_max_s=5.0,
        )
        wanted = set(spec.gateway_ids)
        files = [gf for gf in prov.active_gateways() if gf.gateway_id in wanted]
        if len(files) != len(wanted):
            msg = f"{len(wanted) - len(files)} gateways of this slice are not in {spec.config_dir}"
            raise ValueError(msg)
        for i in range(0, len(files), START_BATCH):
            batch = [
                self.fleet.add(
                    gf,
                    profile,
                    broker_port=spec.broker_port,
                    password=store.get_or_create(gf.gateway_id),
                    options=options,
                    start=False,
                )
                for gf in files[i : i + START_BATCH]
            ]
            self.fleet.start_all(batch)
            self.gws |= {g.gateway_id: g for g in batch}
        # A thousand daemons' objects: with the collector's defaults a full collection
        # here paused the gateways about 1 s, 19 times in a latency run (2026-11-28).
        heap.settle()
        return len(self.gws)

    def connected(self) -> int:
        gws = list(self.gws.values())

        def count() -> int:
            return sum(1 for g in gws if g.daemon and g.daemon.link and g.daemon.link.connected)

        return self.fleet.call(count)

    def _watch_acks(self, g: VirtualGateway) -> None:
        """Time the cloud's event/acks at this post: the cloud acknowledges only after its
        commit, so the ack's arrival bounds the commit from above as the pressing post sees
        it. The daemon has no ack hook, so its sender's method is wrapped on this instance."""
        if g.gateway_id in self._watched:
            return
        sender = g.d.sender
        inner = sender.acknowledged
        acked = self.acked

        def acknowledged(event_ids: list[str]) -> None:
            now = time.time()
            for eid in event_ids:
                acked.setdefault(eid, now)
            inner(event_ids)

        self.fleet.call(lambda: setattr(sender, "acknowledged", acknowledged))
        self._watched.add(g.gateway_id)

    def acks(self, event_ids: list[str]) -> dict[str, float]:
        """When the event/acks of these events reached their posts (those that have)."""
        return {e: self.acked[e] for e in event_ids if e in self.acked}

    def press(self, gateway_ids: list[str]) -> dict[str, float]:
        """A confirmed hold of the first panic button at each post: event_id → press time."""
        sent: dict[str, float] = {}
        for gid in gateway_ids:
            g = self.gws[gid]
            self._watch_acks(g)
            at = time.time()
            sent[str(g.raise_panic(g.cfg.gateway.panic_buttons[0].input).event_id)] = at
        return sent

    def _record(self, gws: list[VirtualGateway], per: int) -> int:
        """`per` non-incident events at each of `gws`, on the fleet's loop."""

        def go() -> int:
            for g in gws:
                d = g.d
                for _ in range(per):
                    d.record(d.events.make(BACKGROUND_KIND, BACKGROUND_INPUT, source="sensor"))
            return len(gws) * per

        return self.fleet.call(go, timeout=300)

    def emit(self, rate: float, seconds: float, seed: int) -> int:
        """`rate` non-incident events/s over random gateways of this slice, for `seconds`."""
        rnd = random.Random(seed)
        pool = list(self.gws.values())
        sent, tick, t0 = 0, 0.1, time.monotonic()
        while (elapsed := time.monotonic() - t0) < seconds:
            due = int(rate * (elapsed + tick)) - sent
            if due > 0:
                picks = [rnd.choice(pool) for _ in range(min(due, 50))]
                sent += self._record(picks, max(1, due // len(picks)))
            time.sleep(max(0.0, tick - (time.monotonic() - t0 - elapsed)))
        return sent

    def backlog(self, per_post: int) -> int:
        """Queue `per_post` events at every post (the broker is down: they wait)."""
        return self._record(list(self.gws.values()), per_post)

    def drop(self, gateway_ids: list[str]) -> None:
        """These posts vanish without DISCONNECT (power cut): their Last Will follows."""
        for gid in gateway_ids:
            self.gws[gid].drop_link()

    def close(self) -> None:
        self.fleet.close()


def serve(conn: Connection, spec: SliceSpec) -> None:
    """The process's main loop: answer requests until `close` or the parent goes away."""
    s = Slice(spec)
    send_lock = threading.Lock()
    methods: dict[str, Any] = {
        "start": s.start,
        "connected": s.connected,
        "press": s.press,
        "acks": s.acks,
        "emit": s.emit,
        "backlog": s.backlog,
        "drop": s.drop,
    }

    def reply(rid: int, ok: bool, value: Any) -> None:
        with send_lock:
            conn.send((rid, ok, value))

    def run(rid: int, method: str, args: tuple[Any, ...]) -> None:
        try:
            reply(rid, True, methods[method](*args))
        except Exception as exc:  # the parent raises it with this process's traceback
            reply(rid, False, f"{exc!r}\n{traceback.format_exc()}")

    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="bench-req") as pool:
        try:
            while True:
                try:
                    rid, method, args = conn.recv()
                except EOFError:
                    break
                if method == "close":
                    break
                pool.submit(run, rid, method, args)
        finally:
            s.close()
    with send_lock:
        conn.send((-1, True, None))
        conn.close()
