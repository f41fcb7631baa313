"""Chaos: a private PostgreSQL (initdb in a temporary directory, a free port, run as the
postgres user) is restarted with `pg_ctl restart -m immediate` (a crash, no checkpoint) in
the middle of a burst of panics. The machine's shared server is never touched. Every panic
ends as exactly one incident, each notice once."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kentongan_cloud.clock import ManualClock
from kentongan_edge.virtual import VirtualFleet
from kentongan_protocol.payloads import Event
from kentongan_protocol.provisioning.broker_process import MosquittoProcess, free_port
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import Recorders

from tests.test_chaos_broker import BURST, add_posts, at_least, events_of, panic, until


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        msg = "PostgreSQL server binaries are missing: apt-get install postgresql"
        raise RuntimeError(msg)
    return found[-1].parent


class PrivatePostgres:
    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="kentongan-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            self.dir.chmod(0o755)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def init(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def _opts(self) -> str:
        return f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start(self) -> None:
        log = str(self.dir / "pg.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", self._opts(), "-w", "start")

    def crash_restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.start()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres().init()
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture
def db_url(private_pg: PrivatePostgres) -> str:
    return private_pg.url


@pytest.fixture
def fleet() -> Iterator[VirtualFleet]:
    with VirtualFleet() as f:
        yield f


def test_postgres_crash_restart_mid_burst_one_incident_per_panic(
    cloud: CloudFactory,
    private_pg: PrivatePostgres,
    fleet: VirtualFleet,
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    tmp_path: Path,
) -> None:
    clock = ManualClock(datetime.now(UTC))
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec)
    posts = add_posts(fleet, provisioning, secrets_store, broker.port, tmp_path, BURST)
    pressed: dict[str, Event] = {}
    half = len(BURST) // 2
    for name in BURST[:half]:
        pressed[name] = panic(posts[name])
    private_pg.crash_restart()  # mid-burst: connections die, uncommitted work is gone
    for name in BURST[half:]:
        pressed[name] = panic(posts[name])
    for p in posts.values():
        assert p.wait_drained(120), f"{p.gateway_id} kept events after PostgreSQL came back"
    got = until(at_least(h, len(BURST)), "one incident per panic")
    assert sorted(i.gateway_id or "" for i in got) == sorted(BURST)
    for inc in got:
        assert inc.count == 1, inc
        [ev] = events_of(h, inc.id)
        assert ev.event_id == str(pressed[inc.gateway_id or ""].event_id)
    clock.advance(31)
    until(lambda: len(rec.notifier.notices) >= len(BURST), "one notice per incident")
    assert sorted(n.incident_id for n in rec.notifier.notices.values()) == sorted(i.id for i in got)
