"""The system under test for one run: a generated district, a real Mosquitto configured
from it by the provisioning code, the cloud worker as its own process over SQLite or
PostgreSQL, and the virtual gateways spread over load-generator processes."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kentongan_cloud import heap
from kentongan_protocol.provisioning.broker import cloud_accounts
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning

from kentongan_testkit.bench.cloudproc import CloudProcess, wait_for
from kentongan_testkit.bench.database import Database
from kentongan_testkit.bench.district import generate_district
from kentongan_testkit.bench.fleetpool import FleetPool

Progress = Callable[[str], None]


@dataclass
class Stack:
    """One district, one broker, one cloud, one fleet of load-generator processes."""

    workdir: Path
    sample: Path
    gateways: int
    database: str
    heartbeat_s: float
    progress: Progress
    procs: int = 2
    workers: int = 1  # cloud workers on the `$share/` group (accounts cloud-1, cloud-2)
    prov: Provisioning | None = None
    broker: MosquittoProcess | None = None
    clouds: list[CloudProcess] = field(default_factory=list)  # the first migrates the database
    db: Database | None = None
    pool: FleetPool | None = None
    gateway_ids: list[str] = field(default_factory=list)
    kampung_of: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    baseline_rss_mb: float = 0.0
    sent_events: int = 0  # every event the load generators recorded so far
    settled_s: dict[str, float | None] = field(default_factory=dict)  # waits before scenarios

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
            "KENTONGAN_FLEET__SWEEP_INTERVAL_S": "0.5",
            "KENTONGAN_OUTBOX__POLL_INTERVAL_S": "0.05",
        }
        # One worker logs in as `cloud`; several each need an account of their own (the
        # broker takes the username as client id): cloud-1 … cloud-N.
        accounts = cloud_accounts(self.workers)
        accounts = accounts[:1] if self.workers == 1 else accounts[1:]
        self.progress(f"starting {self.workers} cloud worker(s) ({self.database})")
        for account in accounts:
            creds = {
                "KENTONGAN_MQTT__USERNAME": account,
                "KENTONGAN_MQTT__PASSWORD": store.get_or_create(account),
            }
            proc = CloudProcess(env | creds, self.workdir / f"{account}.log")
            proc.start()
            if not self.clouds:  # the first one migrates; the others start on its schema
                self._wait_registry()
            self.clouds.append(proc)
        time.sleep(2.0)
        self.baseline_rss_mb = sum(c.rss_mb() for c in self.clouds)
        for gf in prov.active_gateways():
            store.get_or_create(gf.gateway_id)  # made before any process reads the store
            self.gateway_ids.append(gf.gateway_id)
            self.kampung_of[gf.gateway_id] = gf.kampung
        self.progress(f"starting {self.gateways} virtual gateways in {self.procs} processes")
        t_conn = time.monotonic()
        self.pool = FleetPool(
            self.procs,
            config_dir=self.workdir / "config",
            secrets_dir=self.workdir / "secrets",
            broker_port=self.broker.port,
            gateway_ids=self.gateway_ids,
            heartbeat_s=self.heartbeat_s,
        )
        self.pool.all("start", timeout=900)
        connected = wait_for(
            lambda: self.connected() >= self.gateways, 600, "every gateway connected", 1.0
        )
        online = wait_for(
            lambda: self.online() >= self.gateways, 600, "the cloud to see every post online", 1.0
        )
        self.progress(f"{self.gateways} gateways connected and online")
        heap.settle()  # this process reads the figures: a full collection here reads late
        return {
            "setup_s": time.monotonic() - t0,
            "connect_all_s": time.monotonic() - t_conn,
            "connected_wait_s": connected,
            "online_wait_s": online,
            "loadgen_processes": self.pool.procs,
        }

    def _wait_registry(self) -> None:
        wait_for(
            lambda: (
                self.db is not None
                and self.db.scalar("SELECT count(*) FROM gateways") >= self.gateways
            ),
            180,
            "the cloud's gateway registry",
            0.5,
        )

    def connected(self) -> int:
        assert self.pool is not None
        return sum(self.pool.all("connected", timeout=60))

    def online(self) -> int:
        assert self.db is not None
        return self.db.scalar("SELECT count(*) FROM gateways WHERE online")

    def events_stored(self) -> int:
        assert self.db is not None
        return self.db.scalar("SELECT count(*) FROM events")

    def incidents(self) -> int:
        assert self.db is not None
        return self.db.scalar("SELECT count(*) FROM incidents")

    def fresh_posts(self, n: int, rnd: random.Random) -> list[str]:
        """Posts that have not pressed yet: a second press would join the open incident."""
        free = [g for g in self.gateway_ids if g not in self.used]
        picks = rnd.sample(free, min(n, len(free)))
        self.used |= set(picks)
        return picks

    def fresh_pairs(self, n: int, rnd: random.Random) -> list[tuple[str, str]]:
        """Up to `n` pairs of fresh posts, each pair in one kampung: the second press of a pair
        confirms the first (a different post nearby, DESIGN.md), so its sirens sound."""
        by_kampung: dict[str, list[str]] = {}
        for g in self.gateway_ids:
            if g not in self.used:
                by_kampung.setdefault(self.kampung_of[g], []).append(g)
        pairs: list[tuple[str, str]] = []
        while len(pairs) < n:
            rich = sorted(k for k, gs in by_kampung.items() if len(gs) >= 2)
            if not rich:
                break
            a, b = rnd.sample(by_kampung[rnd.choice(rich)], 2)
            by_kampung[self.kampung_of[a]] = [
                g for g in by_kampung[self.kampung_of[a]] if g not in (a, b)
            ]
            pairs.append((a, b))
        self.used |= {g for p in pairs for g in p}
        return pairs

    @contextmanager
    def cloud_usage(self, out: dict[str, float]) -> Iterator[None]:
        c0, t0 = sum(c.cpu_s() for c in self.clouds), time.monotonic()
        yield
        dt = time.monotonic() - t0
        out["cloud_cpu_percent"] = 100 * (sum(c.cpu_s() for c in self.clouds) - c0) / dt
        out["cloud_rss_mb"] = sum(c.rss_mb() for c in self.clouds)

    def close(self) -> None:
        if self.pool is not None:
            self.progress("stopping the load generators")
            try:
                self.pool.close()
            except Exception as exc:
                self.progress(f"load generators close: {exc}")
        for c in self.clouds:
            c.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.db is not None:
            self.db.drop()
