"""Gateway to cloud delivery through a real Mosquitto: end-to-end acknowledgement, resends
after a broker kill -9, buffering while the broker is down, refused publishes, refused
credentials, the Last Will. Virtual gateways (the real daemon on mock pins) play the posts;
the test's MQTT client plays the cloud."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kentongan_edge.control import send_control
from kentongan_edge.events import EventFactory
from kentongan_edge.outbox import Outbox
from kentongan_edge.storage import open_database
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions
from kentongan_protocol.payloads import MAX_ACK_IDS, Event, EventAck, GatewayState
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.cli import main as provision
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_protocol.topics import Suffix, gateway_topic
from kentongan_testkit.mqtt import MqttTestClient
from kentongan_testkit.plugin import ClientFactory

GATEWAY = "gs-buyut-udik-01"
HOLD = 0.25
# EventAck allows 500 ids, but 500 UUIDs (~19.5 kB) exceed the 8 kB payload limit that
# decode() enforces: about 200 is what fits.
ACK_BATCH = MAX_ACK_IDS


class Cloud:
    """Stands in for the cloud: records every event and, while `acking`, acknowledges it
    after 'committing' it (here: after recording it)."""

    def __init__(self, client: MqttTestClient, district: str, gateway: str) -> None:
        self.client = client
        self.ack_topic = gateway_topic(district, gateway, Suffix.EVENT_ACK)
        client.subscribe(gateway_topic(district, gateway, Suffix.EVENT))
        self.acking = False
        self.received: list[Event] = []
        self.raw: list[dict[str, object]] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                first = self.client.inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < ACK_BATCH:
                try:
                    batch.append(self.client.inbox.get_nowait())
                except queue.Empty:
                    break
            events = [Event.model_validate_json(m.payload) for m in batch]
            with self._changed:
                self.received += events
                self.raw += [json.loads(m.payload) for m in batch]
                self._changed.notify_all()
                acking = self.acking
            if acking:
                ack = EventAck(event_ids=[e.event_id for e in events])
                self.client.client.publish(self.ack_topic, ack.encode(), qos=1)

    def start_acking(self) -> None:
        """Commit and acknowledge what came so far, and everything from now on."""
        with self._changed:
            self.acking = True
            done = [e.event_id for e in self.received]
        for i in range(0, len(done), ACK_BATCH):
            ack = EventAck(event_ids=done[i : i + ACK_BATCH])
            self.client.client.publish(self.ack_topic, ack.encode(), qos=1)

    def ids(self) -> list[str]:
        with self._changed:
            return [str(e.event_id) for e in self.received]

    def wait_for(self, ids: set[str], timeout: float = 30.0) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: ids <= {str(e.event_id) for e in self.received}, timeout
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def quick(gw: Gateway) -> Gateway:
    return gw.model_copy(
        update={
            "panic_buttons": [b.model_copy(update={"hold_time_s": 0.2}) for b in gw.panic_buttons]
        }
    )


@pytest.fixture
def fleet() -> Iterator[VirtualFleet]:
    with VirtualFleet() as f:
        yield f


@pytest.fixture
def profile(provisioning: Provisioning) -> EdgeProfile:
    return EdgeProfile.from_district(provisioning.district)


@pytest.fixture
def cloud(mqtt_client: ClientFactory, provisioning: Provisioning) -> Iterator[Cloud]:
    c = Cloud(mqtt_client("cloud"), provisioning.district.district.id, GATEWAY)
    yield c
    c.close()


@dataclass(frozen=True)
class Posts:
    """Starts the post GATEWAY (a virtual gateway) on the test's broker and work folder, with
    its own credentials unless told otherwise; resends after 1 s and no telemetry by default."""

    fleet: VirtualFleet
    provisioning: Provisioning
    profile: EdgeProfile
    broker: MosquittoProcess
    secrets_store: SecretStore
    workdir: Path

    def start(self, *, password: str | None = None, **options: Any) -> VirtualGateway:
        gw = quick(self.provisioning.gateways[GATEWAY].gateway)
        opts = {"resend_after_s": 1.0, "telemetry": False, **options}
        if password is None:
            password = self.secrets_store.get_or_create(GATEWAY)
        return self.fleet.add(
            gw,
            self.profile,
            broker_port=self.broker.port,
            password=password,
            workdir=self.workdir,
            options=VirtualOptions(**opts),
        )

    def online(self, **options: Any) -> VirtualGateway:
        """Started, and connected to the broker."""
        post = self.start(**options)
        assert post.wait_connected()
        return post


@pytest.fixture
def posts(
    fleet: VirtualFleet,
    provisioning: Provisioning,
    profile: EdgeProfile,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    tmp_path: Path,
) -> Posts:
    return Posts(fleet, provisioning, profile, broker, secrets_store, tmp_path)


def test_panic_is_forgotten_only_on_the_clouds_ack(posts: Posts, cloud: Cloud) -> None:
    post = posts.online()
    assert post.fleet.call(lambda: post.d.link is not None and post.d.link.nodelay())
    (panic,) = post.press("tombol_kebakaran", HOLD)
    assert cloud.wait_for({str(panic.event_id)})
    got = cloud.received[0]
    assert (got.kind, got.incident_type, got.historical, got.seq) == (
        "panic",
        "kebakaran",
        False,
        0,
    )
    assert got.boot_id == panic.boot_id
    assert got.session_id == post.session_id
    # The broker's PUBACK came, yet the event is kept and sent again (same event id).
    assert post.wait_until(lambda d: str(panic.event_id) in d.sender.waiting_for_ack())
    assert post.outbox_depth == 1
    assert post.wait_until(lambda d: len(cloud.ids()) >= 2, 10)
    assert set(cloud.ids()) == {str(panic.event_id)}
    cloud.start_acking()
    assert post.wait_drained(10)
    # A resend already on its way may still land; after that, silence: it is forgotten.
    settled = -1
    while settled != len(cloud.ids()):
        settled = len(cloud.ids())
        post.wait_until(lambda d: False, 0.5)
    assert not post.wait_until(lambda d: len(cloud.ids()) > settled, 2.5)


def test_broker_kill_9_loses_pubacked_events_and_resends_bring_them_all(
    posts: Posts, mqtt_client: ClientFactory, provisioning: Provisioning, broker: MosquittoProcess
) -> None:
    district = provisioning.district.district.id
    # The cloud's persistent session holds its subscription while the cloud is away, so the
    # broker PUBACKs every event and queues it in RAM.
    away = mqtt_client("cloud", clean_start=False, session_expiry_s=300)
    away.subscribe(gateway_topic(district, GATEWAY, Suffix.EVENT))
    away.disconnect()
    post = posts.online(resend_after_s=2.0)
    sent = {str(e.event_id) for e in post.emit_many(1000)}
    assert post.wait_until(lambda d: d.sender.waiting_for_ack() == sent, 30)
    broker.kill()  # kill -9: its queue of 1,000 PUBACKed events is gone
    broker.start()
    cloud = Cloud(mqtt_client("cloud"), district, GATEWAY)
    try:
        cloud.start_acking()
        assert cloud.wait_for(sent, 60)
        assert post.wait_drained(30)
        assert set(cloud.ids()) == sent
    finally:
        cloud.close()


def test_events_made_while_the_broker_is_down_arrive_afterwards(
    posts: Posts, mqtt_client: ClientFactory, provisioning: Provisioning, broker: MosquittoProcess
) -> None:
    post = posts.online()
    broker.stop()
    assert post.wait_until(lambda d: d.link is not None and not d.link.connected)
    siren: list[bool] = []
    post.fleet.call(
        lambda: post.d.hardware.output_listeners.append(
            lambda name, on: siren.append(on) if name == "sirene_1" else None
        )
    )
    (panic,) = post.press("tombol_pencurian", HOLD)
    assert siren[:1] == [True]  # the siren did not wait for the network
    made = {str(panic.event_id)} | {str(e.event_id) for e in post.emit_many(1000)}
    assert post.outbox_depth == 1001
    broker.start()
    cloud = Cloud(mqtt_client("cloud"), provisioning.district.district.id, GATEWAY)
    try:
        cloud.start_acking()
        assert cloud.wait_for(made, 60)
        assert post.wait_drained(30)
        assert not any(e.historical for e in cloud.received)  # minutes old at most: live
    finally:
        cloud.close()


def old_backlog(path: Path, n: int) -> set[str]:
    """Events left by an earlier daemon run (another session), as after a reboot."""
    ob = Outbox(open_database(path, synchronous="OFF"))
    f = EventFactory(
        session_id=uuid.uuid4().hex,
        boot_id=uuid.uuid4(),
        clock_synced=lambda: False,
        test_mode=lambda: False,
    )
    ids = set()
    for _ in range(n):
        e = f.make("sensor_triggered", "pelampung_banjir", source="sensor", incident_type="banjir")
        ob.add_event(e)
        ids.add(str(e.event_id))
    ob.close()
    return ids


def test_a_new_panic_overtakes_a_long_backlog(posts: Posts, cloud: Cloud) -> None:
    backlog = old_backlog(posts.workdir / f"{GATEWAY}.outbox.db", 5000)
    post = posts.online(resend_after_s=30.0)
    # Without the cloud's acks the backlog stops at the unacknowledged limit (2,000)...
    assert post.wait_until(lambda d: len(cloud.ids()) >= 2000, 30)
    panic = post.raise_panic("tombol_banjir")
    # ...and a live panic still goes straight through.
    assert cloud.wait_for({str(panic.event_id)})
    position = cloud.ids().index(str(panic.event_id))
    assert position < 2000 + 100
    cloud.start_acking()
    assert cloud.wait_for(backlog, 60)
    assert post.wait_drained(30)
    assert {e.historical for e in cloud.received if str(e.event_id) == str(panic.event_id)} == {
        False
    }
    assert all(e.historical for e in cloud.received if str(e.event_id) in backlog)


def test_publish_on_a_wrong_topic_is_refused_loudly_and_kept(
    fleet: VirtualFleet,
    cloud: Cloud,
    provisioning: Provisioning,
    profile: EdgeProfile,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A Pi flashed with another district's files: its account may not write those topics.
    gw = quick(provisioning.gateways[GATEWAY].gateway).model_copy(update={"district": "metro"})
    post = fleet.add(
        gw,
        profile.model_copy(update={"district": "metro"}),
        broker_port=broker.port,
        password=secrets_store.get_or_create(GATEWAY),
        workdir=tmp_path,
        options=VirtualOptions(resend_after_s=1.0, telemetry=False),
    )
    assert post.wait_connected()
    with caplog.at_level(logging.WARNING, logger="kentongan_edge"):
        (event,) = post.emit_many(1)
        assert post.wait_until(lambda d: d.sender.failures.get(0x87, 0) >= 2, 10)
    assert "BROKER REFUSED event" in caplog.text
    assert "not authorised (PUBACK 0x87" in caplog.text
    assert f"[metro/{GATEWAY}]" in caplog.text
    assert post.fleet.call(post.d.outbox.event_ids) == {str(event.event_id)}
    assert cloud.ids() == []


def test_revoked_gateway_is_cut_off_and_keeps_its_events(
    posts: Posts,
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    post = posts.online()
    secrets_dir = secrets_store.directory
    args = ["revoke", GATEWAY, "--reason", "dicuri", "--config", str(provisioning.root)]
    args += ["--out", str(tmp_path / "out"), "--secrets", str(secrets_dir)]
    assert provision(args) == 0
    with caplog.at_level(logging.CRITICAL, logger="kentongan_edge"):
        broker.reload()  # SIGHUP: Mosquitto drops the revoked account, and refuses it after
        assert post.wait_until(lambda d: d.refused is not None, 10)
    assert "not authorised (CONNACK 0x87)" in caplog.text
    (panic,) = post.press("tombol_kebakaran", HOLD)
    assert post.fleet.call(post.d.outbox.event_ids) == {str(panic.event_id)}
    assert post.alarms == [f"local:{panic.event_id}"]


def test_bad_credentials_stop_the_retries_with_a_clear_error(
    posts: Posts, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.CRITICAL, logger="kentongan_edge"):
        post = posts.start(password="salah")
        assert post.wait_until(lambda d: d.refused is not None, 10)
    # Mosquitto 2.0 answers a wrong password with 0x87 (not authorised), newer ones 0x86.
    assert f"refused user '{GATEWAY}'" in caplog.text
    assert "(CONNACK 0x8" in caplog.text
    assert "Stopped retrying" in caplog.text
    assert f"[lamteng/{GATEWAY}]" in caplog.text
    # With reconnects capped at 2 s, a retrying link would have tried again by now.
    assert not post.wait_until(lambda d: d.link is not None and d.link.attempts > 1, 3)
    assert post.fleet.call(lambda: post.d.led.mode) == "fault"
    (panic,) = post.press("tombol_kebakaran", HOLD)
    assert post.alarms == [f"local:{panic.event_id}"]  # the post still works alone


def test_birth_and_last_will_carry_the_session(
    posts: Posts, mqtt_client: ClientFactory, provisioning: Provisioning
) -> None:
    watcher = mqtt_client("cloud")
    watcher.subscribe(gateway_topic(provisioning.district.district.id, GATEWAY, Suffix.STATE))
    # keepalive 12 s: the will waits 2 s (1.5 x 12 + 2 = 20 s to notice a dead post).
    post = posts.online(keepalive_s=12)
    birth = GatewayState.model_validate_json(watcher.get().payload)
    assert (birth.state, birth.session_id) == ("online", post.session_id)
    post.drop_link()  # gone without DISCONNECT, like a power cut
    assert watcher.drain(0.8) == []  # the will waits for its delay
    will = GatewayState.model_validate_json(watcher.get(timeout=10).payload)
    assert (will.state, will.session_id) == ("offline", post.session_id)


# --- the real daemon as a process, killed with SIGKILL --------------------------------------


def daemon_files(tmp: Path, provisioning: Provisioning, port: int) -> Path:
    gw = quick(provisioning.gateways[GATEWAY].gateway)
    data = gw.model_dump(mode="json", exclude_none=True)
    data["broker"] = {
        "host": "127.0.0.1",
        "port": port,
        "tls": False,
        "keepalive_s": 12,  # will delay 2 s
        "credentials": {"env": "KENTONGAN_MQTT_PASSWORD"},
    }
    data["outbox"] = {"path": str(tmp / "state" / "outbox.db"), "resend_after_s": 2}
    (tmp / "gateway.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    profile = EdgeProfile.from_district(provisioning.district)
    (tmp / "profile.yaml").write_text(yaml.safe_dump(profile.model_dump(mode="json")))
    return tmp / "gateway.yaml"


class Daemon:
    """`kentongan-edge simulate` in its own process, pressed through its control socket."""

    def __init__(self, config: Path, password: str, n: int) -> None:
        self.sock = config.parent / f"control-{n}.sock"
        self.log = (config.parent / f"daemon-{n}.log").open("wb")
        cmd = [sys.executable, "-m", "kentongan_edge.cli", "simulate", "--config", str(config)]
        cmd += ["--control", str(self.sock), "--reconnect-max", "1"]
        env = {**os.environ, "KENTONGAN_MQTT_PASSWORD": password}
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while not self.sock.exists():
            assert self.proc.poll() is None, "daemon died at start"
            assert time.monotonic() < deadline, "no control socket"
            time.sleep(0.05)

    def send(self, line: str) -> str:
        return asyncio.run(send_control(self.sock, line))

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()


def test_daemon_killed_mid_stream_loses_nothing_and_drains_live_first(
    mqtt_client: ClientFactory,
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ke-"))  # short: Unix socket paths are limited
    config = daemon_files(tmp, provisioning, broker.port)
    district = provisioning.district.district.id
    watcher = mqtt_client("technician")
    watcher.subscribe(gateway_topic(district, GATEWAY, Suffix.STATE))
    cloud = Cloud(mqtt_client("cloud", clean_start=False, session_expiry_s=300), district, GATEWAY)
    password = secrets_store.get_or_create(GATEWAY)
    first = Daemon(config, password, 1)
    session1 = GatewayState.model_validate_json(watcher.get(timeout=10).payload).session_id
    buttons = ["tombol_pencurian", "tombol_kebakaran", "tombol_banjir"]

    def keep_pressing(button: str) -> None:
        for _ in range(10):
            try:
                first.send(f"press {button} 0.25")
            except OSError:
                return  # killed

    pressers = [threading.Thread(target=keep_pressing, args=(b,)) for b in buttons]
    for t in pressers:
        t.start()
    with cloud._changed:
        assert cloud._changed.wait_for(lambda: len(cloud.received) >= 6, 30)
    first.kill()  # kill -9 while presses and sends are under way
    for t in pressers:
        t.join(10)
    delivered = set(cloud.ids())
    kept = Outbox(open_database(tmp / "state" / "outbox.db")).event_ids()
    # Nothing the cloud has not acknowledged was forgotten, PUBACK or not.
    assert delivered <= kept
    will = GatewayState.model_validate_json(watcher.get(timeout=10).payload)
    assert (will.state, will.session_id) == ("offline", session1)

    broker.stop()
    second = Daemon(config, password, 2)
    assert "pressed" in second.send("press tombol_kebakaran 0.3")  # offline, live
    before = len(cloud.received)
    broker.start()
    # Acknowledge from now on only: what the first daemon sent must come again.
    cloud.acking = True
    try:
        with cloud._changed:
            assert cloud._changed.wait_for(
                lambda: (
                    kept <= {str(e.event_id) for e in cloud.received[before:]}
                    and any(e.session_id != session1 for e in cloud.received[before:])
                ),
                60,
            )
        after = cloud.received[before:]
        assert after[0].session_id != session1
        assert (after[0].kind, after[0].historical) == ("panic", False)
        assert all(e.historical for e in after if e.session_id == session1)
        # Duplicates only ever repeat an event exactly (historical flag aside).
        by_id: dict[object, dict[str, object]] = {}
        for raw in cloud.raw:
            body = {k: v for k, v in raw.items() if k != "historical"}
            assert by_id.setdefault(raw["event_id"], body) == body
        deadline = time.monotonic() + 30
        while "outbox 0 held" not in second.send("status"):
            assert time.monotonic() < deadline, second.send("status")
            time.sleep(0.2)
    finally:
        cloud.close()
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(10) == 0
        second.log.close()
    shutil.rmtree(tmp, ignore_errors=True)
