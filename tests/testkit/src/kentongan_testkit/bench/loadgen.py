"""The load generator: a real Mosquitto configured from the generated district, the cloud
worker as its own process (so its RSS and CPU are its own), and N virtual gateways (the real
edge daemon on mock pins, each its own MQTT connection, credentials, session and seq) on one
asyncio loop in this process.

Scenarios: quiet night (heartbeats only), background load with probe presses, sustained
rate, burst (a kecamatan's posts all raise panics within seconds), outage of the broker
followed by the backlog drain while live panics arrive, offline detection of a vanished
post."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions
from kentongan_protocol.payloads import EventKind
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning

from kentongan_testkit.bench.district import generate_district

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")
BACKGROUND_KIND: EventKind = "battery_low"
BACKGROUND_INPUT = "aki_lemah"

Progress = Callable[[str], None]
OPENED_SQL = (
    "SELECT e.event_id, e.occurred_at, i.opened_at, i.id FROM events e "
    "JOIN incidents i ON i.opening_event_id = e.event_id WHERE "
)
OFFLINE_SQL = "SELECT gateway_id FROM gateways WHERE NOT online AND "
# The first acknowledgement of a siren command by a neighbour (not the pressing post itself).
ACKED_SQL = (
    "SELECT c.incident_id, min(a.at) FROM commands c JOIN command_acks a "
    "ON a.command_id = c.command_id JOIN incidents i ON i.id = c.incident_id "
    "WHERE {where} AND a.gateway_id <> i.gateway_id GROUP BY c.incident_id"
)


def _ts(value: Any) -> float:
    """A timestamp column as epoch seconds (SQLite gives text, PostgreSQL datetimes)."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class Database:
    """The cloud's database, read with plain SQL from outside the cloud."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.pg_name: str | None = None
        if kind == "sqlite":
            self.path = workdir / "cloud.db"
            self.url = f"sqlite+aiosqlite:///{self.path}"
        elif kind == "postgresql":
            self.pg_name = f"kentongan_bench_{os.getpid()}_{int(time.time())}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
            self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.pg_name}"
        else:
            msg = f"unknown database {kind!r}"
            raise ValueError(msg)

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            lite = sqlite3.connect(self.path, timeout=30)
            try:
                return lite.execute(sql.replace("%s", "?"), args).fetchall()
            finally:
                lite.close()
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={self.pg_name}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            return list(conn.execute(sql.encode(), args).fetchall())

    def scalar(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        try:
            got = self.rows(sql, args)
        except (sqlite3.OperationalError, psycopg.Error):
            return 0
        return int(got[0][0] or 0) if got else 0

    def drop(self) -> None:
        if self.pg_name is not None:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


@dataclass
class CloudProcess:
    """`kentongan-cloud worker` as a child process."""

    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    _cpu0: float = 0.0
    _t0: float = 0.0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kentongan_cloud.cli", "worker"],
                env=os.environ | self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> float:
    """Poll until `check()`; returns the seconds it took. Raises TimeoutError with `what`."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            msg = f"timed out after {timeout:.0f} s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(step)
    return time.monotonic() - t0


@dataclass
class Bench:
    """One district, one broker, one cloud, one fleet: the scenarios run on it in turn."""

    workdir: Path
    sample: Path
    gateways: int
    database: str
    heartbeat_s: float
    progress: Progress
    prov: Provisioning | None = None
    broker: MosquittoProcess | None = None
    cloud: CloudProcess | None = None
    db: Database | None = None
    fleet: VirtualFleet | None = None
    gws: list[VirtualGateway] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    baseline_rss_mb: float = 0.0

    # --- setup -------------------------------------------------------------------------------

    def start(self) -> dict[str, float]:
        t0 = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)  # Mosquitto, dropped to its own user, must reach its files
        (self.workdir / "broker").mkdir(exist_ok=True)
        self.progress(f"generating a district of {self.gateways} gateways")
        prov = self.prov = generate_district(self.sample, self.workdir / "config", self.gateways)
        store = SecretStore(self.workdir / "secrets")
        self.progress("starting mosquitto (passwd and ACL from the provisioning code)")
        self.broker = MosquittoProcess(prov, store, workdir=self.workdir / "broker").start()
        self.db = Database(self.database, self.workdir)
        env = {
            "KENTONGAN_CONFIG_DIR": str(self.workdir / "config"),
            "KENTONGAN_DATA_DIR": str(self.workdir / "cloud-data"),
            "KENTONGAN_DATABASE__URL": self.db.url,
            "KENTONGAN_MQTT__PORT": str(self.broker.port),
            "KENTONGAN_MQTT__PASSWORD": store.get_or_create("cloud"),
            "KENTONGAN_FLEET__SWEEP_INTERVAL_S": "0.5",
            "KENTONGAN_OUTBOX__POLL_INTERVAL_S": "0.05",
        }
        self.progress(f"starting the cloud worker ({self.database})")
        self.cloud = CloudProcess(env, self.workdir / "cloud.log")
        self.cloud.start()
        wait_for(
            lambda: (
                self.db is not None
                and self.db.scalar("SELECT count(*) FROM gateways") >= self.gateways
            ),
            180,
            "the cloud's gateway registry",
            0.5,
        )
        time.sleep(2.0)
        assert self.cloud is not None
        self.baseline_rss_mb = self.cloud.rss_mb()
        self.progress(f"starting {self.gateways} virtual gateways")
        profile = EdgeProfile.from_district(prov.district)
        options = VirtualOptions(
            durable=False,
            heartbeat_s=self.heartbeat_s,
            analog_poll_s=3600.0,
            keep_events=64,
            keepalive_s=10,
            reconnect_min_s=0.5,
            reconnect_max_s=5.0,
        )
        self.fleet = VirtualFleet()
        t_conn = time.monotonic()
        batch: list[VirtualGateway] = []
        for gf in prov.active_gateways():
            batch.append(
                self.fleet.add(
                    gf,
                    profile,
                    broker_port=self.broker.port,
                    password=store.get_or_create(gf.gateway_id),
                    options=options,
                    start=False,
                )
            )
            if len(batch) == 100:
                self.fleet.start_all(batch)
                self.gws += batch
                batch = []
                self.progress(f"  {len(self.gws)} started")
        if batch:
            self.fleet.start_all(batch)
            self.gws += batch
        connected = wait_for(
            lambda: self.connected() >= self.gateways, 600, "every gateway connected", 1.0
        )
        online = wait_for(
            lambda: self.online() >= self.gateways, 600, "the cloud to see every post online", 1.0
        )
        self.progress(f"{self.gateways} gateways connected and online")
        return {
            "setup_s": time.monotonic() - t0,
            "connect_all_s": time.monotonic() - t_conn,
            "connected_wait_s": connected,
            "online_wait_s": online,
        }

    def connected(self) -> int:
        assert self.fleet is not None
        gws = self.gws

        def count() -> int:
            return sum(1 for g in gws if g.daemon and g.daemon.link and g.daemon.link.connected)

        return self.fleet.call(count)

    def online(self) -> int:
        assert self.db is not None
        return self.db.scalar("SELECT count(*) FROM gateways WHERE online")

    def close(self) -> None:
        if self.fleet is not None:
            self.progress("stopping the fleet")
            try:
                self.fleet.close()
            except Exception as exc:
                self.progress(f"fleet close: {exc}")
        if self.cloud is not None:
            self.cloud.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.db is not None:
            self.db.drop()

    # --- measurements ------------------------------------------------------------------------

    @contextmanager
    def cloud_usage(self, out: dict[str, float]) -> Iterator[None]:
        assert self.cloud is not None
        c0, t0 = self.cloud.cpu_s(), time.monotonic()
        yield
        dt = time.monotonic() - t0
        out["cloud_cpu_percent"] = 100 * (self.cloud.cpu_s() - c0) / dt
        out["cloud_rss_mb"] = self.cloud.rss_mb()

    def events_stored(self) -> int:
        assert self.db is not None
        return self.db.scalar("SELECT count(*) FROM events")

    def incidents(self) -> int:
        assert self.db is not None
        return self.db.scalar("SELECT count(*) FROM incidents")

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

    def _emit_background(self, rate: float, seconds: float, rnd: random.Random) -> int:
        """`rate` non-incident events/s spread over random gateways, for `seconds`."""
        assert self.fleet is not None
        sent = 0
        t0 = time.monotonic()
        tick = 0.1
        while (elapsed := time.monotonic() - t0) < seconds:
            due = int(rate * (elapsed + tick)) - sent
            if due > 0:
                picks = [rnd.choice(self.gws) for _ in range(min(due, 50))]
                per = max(1, due // len(picks))

                def go(picks: list[VirtualGateway] = picks, per: int = per) -> int:
                    n = 0
                    for g in picks:
                        d = g.d
                        for _ in range(per):
                            d.record(
                                d.events.make(BACKGROUND_KIND, BACKGROUND_INPUT, source="sensor")
                            )
                            n += 1
                    return n

                sent += self.fleet.call(go)
            time.sleep(max(0.0, tick - (time.monotonic() - t0 - elapsed)))
        return sent

    def sustained(self, rate: float, seconds: float, seed: int = 1) -> dict[str, float]:
        """Offer `rate` events/s for `seconds`; count what the cloud stored, and when."""
        self.progress(f"sustained: offering {rate:.0f} events/s for {seconds:.0f} s")
        before = self.events_stored()
        t0 = time.monotonic()
        sent = self._emit_background(rate, seconds, random.Random(seed))
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
            "stored": stored,
            "lost": sent - stored,
            "offered_s": offered_s,
            "until_all_stored_s": took,
            "events_per_s": stored / took,
        }

    def _press(self, g: VirtualGateway) -> str:
        ev = g.raise_panic(g.cfg.gateway.panic_buttons[0].input)
        return str(ev.event_id)

    def press_latencies(self, event_ids: list[str], timeout: float) -> dict[str, list[float]]:
        """For pressed events: event occurred → incident opened (committed), and → the first
        neighbouring siren acknowledged its command."""
        assert self.db is not None
        db = self.db
        marks = ",".join(["%s"] * len(event_ids))

        def opened() -> list[tuple[Any, ...]]:
            where = f"e.event_id IN ({marks})"  # only %s placeholders are joined in
            return db.rows(OPENED_SQL + where, tuple(event_ids))

        with suppress(TimeoutError):
            wait_for(lambda: len(opened()) >= len(event_ids), timeout, "incidents", 0.2)
        rows = opened()
        commit = [max(0.0, _ts(r[2]) - _ts(r[1])) for r in rows]
        occurred = {r[3]: _ts(r[1]) for r in rows}
        inc_ids = list(occurred)
        siren: list[float] = []
        if inc_ids:
            m2 = ",".join(["%s"] * len(inc_ids))

            def acked() -> list[tuple[Any, ...]]:
                where = f"c.incident_id IN ({m2})"  # only %s placeholders are joined in
                return db.rows(ACKED_SQL.replace("{where}", where), tuple(inc_ids))

            with suppress(TimeoutError):
                wait_for(lambda: len(acked()) >= len(inc_ids), 30, "siren acks", 0.3)
            siren = [max(0.0, _ts(at) - occurred[iid]) for iid, at in acked()]
        return {
            "commit_s": commit,
            "siren_ack_s": siren,
            "missing": [float(len(event_ids) - len(rows))],
        }

    def probes_under_load(
        self, background_rate: float, seconds: float, probes: int, seed: int = 2
    ) -> dict[str, Any]:
        """Probe presses on distinct posts while `background_rate` events/s flow."""
        assert self.fleet is not None
        self.progress(
            f"latency: {probes} presses during {background_rate:.0f} events/s for {seconds:.0f} s"
        )
        rnd = random.Random(seed)
        posts = self.fresh_posts(probes, rnd)

        ids: list[str] = []

        def presser() -> None:
            gap = seconds / (probes + 1)
            for g in posts:
                time.sleep(gap)
                ids.append(self._press(g))

        th = threading.Thread(target=presser)
        th.start()
        sent = self._emit_background(background_rate, seconds, rnd)
        th.join()
        lat = self.press_latencies(ids, 60)
        return {"background_events": sent, "presses": len(ids), **lat}

    def fresh_posts(self, n: int, rnd: random.Random) -> list[VirtualGateway]:
        """Posts that have not pressed yet: a second press would join the open incident."""
        free = [g for g in self.gws if g.gateway_id not in self.used]
        picks = rnd.sample(free, min(n, len(free)))
        self.used |= {g.gateway_id for g in picks}
        return picks

    def burst(self, kecamatan: str | None, within_s: float) -> dict[str, Any]:
        """Every post of one kecamatan raises a panic within `within_s` seconds."""
        assert self.prov is not None
        assert self.fleet is not None
        kc = kecamatan or self.prov.district.kecamatan[0].id
        kampung = {
            k.id for k in next(k for k in self.prov.district.kecamatan if k.id == kc).kampung
        }
        posts = [
            g
            for g in self.gws
            if g.cfg.gateway.kampung in kampung and g.gateway_id not in self.used
        ]
        self.used |= {g.gateway_id for g in posts}
        self.progress(f"burst: {len(posts)} posts of kecamatan {kc} panic within {within_s} s")
        inc0 = self.incidents()
        ids: list[str] = []
        t0 = time.monotonic()
        for i, g in enumerate(posts):
            target = t0 + within_s * i / max(1, len(posts))
            time.sleep(max(0.0, target - time.monotonic()))
            ids.append(self._press(g))
        lat = self.press_latencies(ids, 120)
        took = time.monotonic() - t0
        new_incidents = self.incidents() - inc0
        return {
            "kecamatan": kc,
            "posts": len(posts),
            "panics": len(ids),
            "incidents": new_incidents,
            "lost": len(ids) - len(lat["commit_s"]),
            "duplicated": max(0, new_incidents - len(ids)),
            "until_all_committed_s": took,
            **lat,
        }

    def outage(self, seconds: float, per_post: int, live: int) -> dict[str, Any]:
        """The broker is down `seconds` while posts keep recording; then every post drains
        its backlog while `live` fresh panics arrive on other posts."""
        assert self.broker is not None
        assert self.fleet is not None
        self.progress(f"outage: broker down {seconds:.0f} s, {per_post} events queued per post")
        before = self.events_stored()
        inc0 = self.incidents()
        self.broker.stop()
        fleet = self.fleet
        gws = self.gws

        def queue() -> int:
            n = 0
            for g in gws:
                d = g.d
                for _ in range(per_post):
                    d.record(d.events.make(BACKGROUND_KIND, BACKGROUND_INPUT, source="sensor"))
                    n += 1
            return n

        backlog = fleet.call(queue, timeout=300)
        time.sleep(seconds)
        t0 = time.monotonic()
        self.broker.start()
        rnd = random.Random(3)
        live_posts = self.fresh_posts(live, rnd)
        time.sleep(1.0)
        ids = [self._press(g) for g in live_posts]
        lat = self.press_latencies(ids, 300)
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
            **{f"live_{k}": v for k, v in lat.items()},
        }

    def offline_detection(self, posts: int) -> dict[str, list[float]]:
        """Posts vanish without DISCONNECT (power cut): how long until the cloud says so."""
        assert self.db is not None
        self.progress(f"offline detection: {posts} posts lose power")
        victims = self.gws[-posts:]
        db = self.db
        t0 = time.monotonic()
        for g in victims:
            g.drop_link()
        marks = ",".join(["%s"] * len(victims))
        got: dict[str, float] = {}

        def check() -> bool:
            where = f"gateway_id IN ({marks})"  # only %s placeholders are joined in
            rows = db.rows(
                OFFLINE_SQL + where,
                tuple(g.gateway_id for g in victims),
            )
            now = time.monotonic() - t0
            for (gid,) in rows:
                got.setdefault(gid, now)
            return len(got) >= len(victims)

        with suppress(TimeoutError):
            wait_for(check, 120, "offline detection", 0.2)
        return {"detected_s": sorted(got.values()), "missed": [float(len(victims) - len(got))]}


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
