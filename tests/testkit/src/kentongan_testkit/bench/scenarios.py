"""The scenarios, run in turn on one stack: quiet night (heartbeats only), probe presses under
background load, sustained rate, burst (a kecamatan's posts all raise panics within seconds),
an outage of the broker followed by the backlog drain while live panics arrive, and offline
detection of posts that lose power."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import Future
from contextlib import suppress
from typing import Any

from kentongan_testkit.bench.cloudproc import wait_for
from kentongan_testkit.bench.database import OFFLINE_SQL, marks
from kentongan_testkit.bench.latency import PressLatency, press_latencies
from kentongan_testkit.bench.stack import Stack
from kentongan_testkit.bench.visibility import IncidentWatcher

# The second post of a probe pair presses this long after the first: inside the 2-minute
# confirmation window, and late enough that the cloud has usually committed the first.
CONFIRM_GAP_S = 1.0
# Each scenario starts once the cloud has stored everything sent so far, so it never counts
# (or queues behind) the previous scenario's stragglers; waiting longer than this is loss.
SETTLE_TIMEOUT_S = 300.0


def _gather(futs: list[Future[dict[str, float]]], timeout: float = 120) -> dict[str, float]:
    pressed: dict[str, float] = {}
    for f in futs:
        pressed |= f.result(timeout)
    return pressed


class Bench(Stack):
    """The scenarios; every figure comes from the cloud's database or its process."""

    def settle(self, before: str) -> None:
        """Wait until the cloud has stored every event sent so far (None: it never did)."""
        try:
            self.settled_s[before] = wait_for(
                lambda: self.events_stored() >= self.sent_events,
                SETTLE_TIMEOUT_S,
                "the cloud to store the previous scenario's events",
                0.2,
            )
        except TimeoutError:
            self.progress(f"the cloud never caught up before {before}")
            self.settled_s[before] = None

    def _pressed(self, futs: list[Future[dict[str, float]]]) -> dict[str, float]:
        pressed = _gather(futs)
        self.sent_events += len(pressed)
        return pressed

    def quiet_night(self, seconds: float) -> dict[str, float]:
        """Heartbeats only: what N idle posts cost the cloud."""
        self.progress(f"quiet night: {seconds:.0f} s of heartbeats")
        out: dict[str, float] = {}
        with self.cloud_usage(out):
            time.sleep(seconds)
        per_k = 1000 / self.gateways
        return {
            "seconds": seconds,
            "cloud_cpu_percent": out["cloud_cpu_percent"],
            "cloud_rss_mb": out["cloud_rss_mb"],
            "cloud_cpu_percent_per_1000_gateways": out["cloud_cpu_percent"] * per_k,
            "cloud_rss_mb_without_gateways": self.baseline_rss_mb,
            "cloud_rss_mb_per_1000_gateways": (out["cloud_rss_mb"] - self.baseline_rss_mb) * per_k,
        }

    def _background(self, rate: float, seconds: float, seed: int) -> int:
        """Every load generator offers its share of `rate` events/s for `seconds`."""
        assert self.pool is not None
        n = self.pool.procs
        futs = self.pool.each("emit", [(rate / n, seconds, seed * 1000 + i) for i in range(n)])
        sent = sum(int(f.result(seconds + 300)) for f in futs)
        self.sent_events += sent
        return sent

    def _watch(self) -> IncidentWatcher:
        assert self.db is not None
        return IncidentWatcher(self.db)

    def _latency(
        self, pressed: dict[str, float], timeout: float, watch: IncidentWatcher
    ) -> PressLatency:
        """Latencies of these presses; `watch` must have run since before the first."""
        assert self.db is not None
        assert self.pool is not None
        lat = press_latencies(self.db, pressed, timeout)
        if watch.error is not None:
            msg = f"the incident watcher stopped: {watch.error}"
            raise RuntimeError(msg) from watch.error
        lat.visible_s = watch.visible_after(pressed)
        lat.poll_gap_s = watch.gaps
        ids = list(pressed)
        acked: dict[str, float] = {}

        def all_acked() -> bool:
            assert self.pool is not None
            for got in self.pool.all("acks", ids, timeout=60):
                acked.update(got)
            return len(acked) >= len(ids) - lat.missing

        with suppress(TimeoutError):
            wait_for(all_acked, 10, "event acks at the posts", 0.2)
        lat.event_ack_s = [max(0.0, at - pressed[eid]) for eid, at in acked.items()]
        return lat

    def probes_under_load(
        self, background_rate: float, seconds: float, probes: int, seed: int = 2
    ) -> dict[str, Any]:
        """Probe presses in pairs of posts of one kampung while `background_rate` events/s
        flow: the second press of a pair confirms the incident and sounds the neighbours."""
        assert self.pool is not None
        pool = self.pool
        self.settle("latency")
        pairs = self.fresh_pairs(probes // 2, random.Random(seed))
        self.progress(
            f"latency: {len(pairs)} confirming pairs of presses during {background_rate:.0f} "
            f"events/s for {seconds:.0f} s"
        )
        futs: list[Future[dict[str, float]]] = []

        def presser() -> None:
            gap = max(0.0, seconds - CONFIRM_GAP_S) / (len(pairs) + 1)
            t0 = time.monotonic()
            for i, (a, b) in enumerate(pairs):
                time.sleep(max(0.0, t0 + gap * (i + 1) - time.monotonic()))
                futs.append(pool.press([a]))
                time.sleep(CONFIRM_GAP_S)
                futs.append(pool.press([b]))

        th = threading.Thread(target=presser)
        with self._watch() as watch:
            th.start()
            sent = self._background(background_rate, seconds, 2)
            th.join()
            pressed = self._pressed(futs)
            lat = self._latency(pressed, 180, watch)
        return {"background_events": sent, "presses": len(pressed), "pairs": len(pairs), "lat": lat}

    def sustained(self, rate: float, seconds: float, seed: int = 1) -> dict[str, float]:
        """Offer `rate` events/s for `seconds`; count what the cloud stored, and when."""
        self.settle(f"sustained {rate:.0f}")
        self.progress(f"sustained: offering {rate:.0f} events/s for {seconds:.0f} s")
        before = self.events_stored()
        t0 = time.monotonic()
        sent = self._background(rate, seconds, seed)
        offered_s = time.monotonic() - t0
        with suppress(TimeoutError):
            wait_for(
                lambda: self.events_stored() - before >= sent, 120 + seconds, "events stored", 0.2
            )
        took = time.monotonic() - t0
        stored = self.events_stored() - before
        return {
            "offered_per_s": rate,
            "sent": sent,
            "offered_achieved_per_s": sent / offered_s,
            "stored": stored,
            "lost": sent - stored,
            "offered_s": offered_s,
            "until_all_stored_s": took,
            "events_per_s": stored / took,
        }

    def burst(self, kecamatan: str | None, within_s: float) -> dict[str, Any]:
        """Every fresh post of one kecamatan raises a panic within `within_s` seconds."""
        assert self.prov is not None
        assert self.pool is not None
        self.settle("burst")
        kc = kecamatan or self.prov.district.kecamatan[0].id
        kampung = {
            k.id for k in next(k for k in self.prov.district.kecamatan if k.id == kc).kampung
        }
        posts = [
            g for g in self.gateway_ids if self.kampung_of[g] in kampung and g not in self.used
        ]
        self.used |= set(posts)
        self.progress(f"burst: {len(posts)} posts of kecamatan {kc} panic within {within_s} s")
        inc0 = self.incidents()
        futs: list[Future[dict[str, float]]] = []
        with self._watch() as watch:
            t0 = time.monotonic()
            for i, g in enumerate(posts):
                time.sleep(max(0.0, t0 + within_s * i / max(1, len(posts)) - time.monotonic()))
                futs.append(self.pool.press([g]))
            pressed = self._pressed(futs)
            lat = self._latency(pressed, 180, watch)
        took = time.monotonic() - t0
        new_incidents = self.incidents() - inc0
        return {
            "kecamatan": kc,
            "posts": len(posts),
            "panics": len(pressed),
            "incidents": new_incidents,
            "lost": len(pressed) - len(lat.opened_s),
            "duplicated": max(0, new_incidents - len(pressed)),
            "until_all_committed_s": took,
            "lat": lat,
        }

    def outage(self, seconds: float, per_post: int, live: int) -> dict[str, Any]:
        """The broker is down `seconds` while posts keep recording; then every post drains
        its backlog while `live` fresh panics arrive on other posts."""
        assert self.broker is not None
        assert self.pool is not None
        self.settle("outage")
        self.progress(f"outage: broker down {seconds:.0f} s, {per_post} events queued per post")
        before = self.events_stored()
        inc0 = self.incidents()
        self.broker.stop()
        backlog = sum(self.pool.all("backlog", per_post, timeout=300))
        self.sent_events += backlog
        time.sleep(seconds)
        t0 = time.monotonic()
        self.broker.start()
        live_posts = self.fresh_posts(live, random.Random(3))
        time.sleep(1.0)
        with self._watch() as watch:
            pressed = self._pressed([self.pool.press([g]) for g in live_posts])
            lat = self._latency(pressed, 300, watch)
        with suppress(TimeoutError):
            wait_for(
                lambda: self.events_stored() - before >= backlog + live,
                240,
                "the backlog drained",
                0.5,
            )
        took = time.monotonic() - t0
        stored = self.events_stored() - before
        return {
            "outage_s": seconds,
            "backlog": backlog,
            "live_panics": live,
            "stored": stored,
            "lost": backlog + live - stored,
            "incidents": self.incidents() - inc0,
            "drain_s": took,
            "drain_events_per_s": stored / took,
            "lat": lat,
        }

    def offline_detection(self, posts: int) -> dict[str, Any]:
        """Posts vanish without DISCONNECT (power cut): how long until the cloud says so."""
        assert self.db is not None
        assert self.pool is not None
        self.progress(f"offline detection: {posts} posts lose power")
        victims = self.gateway_ids[-posts:]
        db = self.db
        t0 = time.monotonic()
        self.pool.drop(victims)
        got: dict[str, float] = {}

        def check() -> bool:
            rows = db.rows(OFFLINE_SQL + f"gateway_id IN ({marks(len(victims))})", tuple(victims))
            now = time.monotonic() - t0
            for (gid,) in rows:
                got.setdefault(gid, now)
            return len(got) >= len(victims)

        with suppress(TimeoutError):
            wait_for(check, 120, "offline detection", 0.2)
        return {"detected_s": sorted(got.values()), "missed": len(victims) - len(got)}
