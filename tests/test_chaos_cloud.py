"""Chaos: the cloud itself (`kentongan-cloud serve`, its own process, SQLite) dies with
kill -9 in the middle of a burst of panics from virtual gateways, and starts again. Every
panic ends as exactly one incident, and the agencies' webhook receives each notification
once (counted by its Idempotency-Key, as a receiver that honours the key would)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kentongan_cloud.demo import Receiver, prepare_config
from kentongan_cloud.domain.incident import Incident
from kentongan_cloud.store.db import Database
from kentongan_edge.virtual import VirtualFleet
from kentongan_protocol.payloads import Event
from kentongan_protocol.provisioning.broker_process import MosquittoProcess, free_port
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning, load_tree

from tests.test_chaos_broker import add_posts, until

MEDIS = ["tb-poncowati-01", "pg-toto-katon-01", "tb-adi-jaya-01", "gs-terbanggi-agung-01"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def secrets_env(config_tree: Path, receiver: Receiver, tmp_path: Path) -> dict[str, str]:
    """The district with its webhooks on the receiver and a 5 s cancel window. PSC 119's
    coordinator loses her office hours, so its 24-hour dispatcher (a webhook) is paged
    first at any hour the test runs."""
    demo = tmp_path / "district"
    env = prepare_config(config_tree, demo, receiver.url)
    path = demo / "district.yaml"
    text = path.read_text(encoding="utf-8").replace("cancel_window_s: 30", "cancel_window_s: 5")
    office_hours = (
        '          - {type: sms, to: "+6281200000023"}\n'
        "        shifts:\n"
        '          - {days: [sen, sel, rab, kam, jum], start: "07:30", end: "16:00"}\n'
    )
    assert office_hours in text
    text = text.replace(office_hours, office_hours.split("\n", maxsplit=1)[0] + "\n")
    path.write_text(text, encoding="utf-8")
    return env


@pytest.fixture
def provisioning(secrets_env: dict[str, str], tmp_path: Path) -> Provisioning:
    return load_tree(tmp_path / "district")


@pytest.fixture
def fleet() -> Iterator[VirtualFleet]:
    with VirtualFleet() as f:
        yield f


class CloudProcess:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "kentongan_cloud.cli", "serve", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)

        def healthy() -> bool:
            assert self.proc is not None
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).is_success
            except httpx.HTTPError:
                return False

        until(healthy, "the cloud to answer", timeout=60)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def stored_incidents(url: str) -> list[Incident]:
    async def read() -> list[Incident]:
        db = Database(url)
        try:
            async with db.transaction() as tx:
                return await tx.incidents.search(limit=500)
        finally:
            await db.close()

    return asyncio.run(read())


def test_cloud_kill_9_mid_burst_one_incident_per_panic_each_notice_once(
    provisioning: Provisioning,
    secrets_env: dict[str, str],
    receiver: Receiver,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    fleet: VirtualFleet,
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    env = os.environ | secrets_env
    env |= {
        "KENTONGAN_CONFIG_DIR": str(tmp_path / "district"),
        "KENTONGAN_DATA_DIR": str(tmp_path / "cloud-data"),
        "KENTONGAN_DATABASE__URL": url,
        "KENTONGAN_MQTT__PORT": str(broker.port),
        "KENTONGAN_MQTT__PASSWORD": secrets_store.get_or_create("cloud"),
        "KENTONGAN_OUTBOX__POLL_INTERVAL_S": "0.2",
        "KENTONGAN_RESPONDERS__WHATSAPP__TOKEN": "t",
        "KENTONGAN_RESPONDERS__WHATSAPP__PHONE_NUMBER_ID": "6281200000",
        "KENTONGAN_RESPONDERS__WHATSAPP__API_BASE": f"{receiver.url}/whatsapp",
    }
    cloud = CloudProcess(env, free_port(), tmp_path / "cloud.log")
    cloud.start()
    try:
        posts = add_posts(fleet, provisioning, secrets_store, broker.port, tmp_path, MEDIS)
        pressed: dict[str, Event] = {}
        for name in MEDIS[:2]:
            pressed[name] = posts[name].raise_panic("tombol_medis")
        until(lambda: stored_incidents(url), "the first incident")
        cloud.kill()  # kill -9 mid-burst
        for name in MEDIS[2:]:
            pressed[name] = posts[name].raise_panic("tombol_medis")
        cloud.start()
        for p in posts.values():
            assert p.wait_drained(90), f"{p.gateway_id} kept events"

        def all_incidents() -> list[Incident] | None:
            got = stored_incidents(url)
            return got if len(got) >= len(MEDIS) else None

        got = until(all_incidents, "one incident per panic")
        assert sorted(i.gateway_id or "" for i in got) == sorted(MEDIS)
        assert all(i.count == 1 for i in got)

        def psc_keys() -> set[str]:
            return {
                m.idempotency_key or ""
                for m in receiver.snapshot()
                if m.channel == "webhook"
                and "darurat" in m.text.lower()
                # The command centre's CAP feed is a webhook too: count PSC 119's only.
                and ":psc-dispatcher:" in (m.idempotency_key or "")
            }

        # PSC 119 (ambulance, kabupaten) is told of every medical emergency, each once.
        def every_key() -> set[str] | None:
            keys = psc_keys()
            return keys if len(keys) >= len(MEDIS) else None

        keys = until(every_key, "a PSC 119 webhook per incident")
        assert len(keys) == len(MEDIS)
        assert "" not in keys
    except BaseException:
        # What the cloud said is the first thing to read when this fails.
        print(cloud.log.read_text(errors="replace")[-20_000:])
        raise
    finally:
        cloud.stop()
