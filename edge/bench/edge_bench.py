"""Measures the gateway daemon's numbers (issue 3) on this machine with mock pins.

    .venv/bin/python edge/bench/edge_bench.py            # everything, ~2 minutes
    .venv/bin/python edge/bench/edge_bench.py --quick    # smaller samples

A benchmark, not a test: it prints figures and asserts nothing. It starts its own Mosquitto
(Debian's, on a free port, with the generated district config) and a stand-in cloud that
acknowledges every event, and runs the real daemon as virtual gateways (and once as a
process, for idle CPU and memory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import yaml
from kentongan_edge.control import send_control
from kentongan_edge.events import EventFactory
from kentongan_edge.outbox import Outbox
from kentongan_edge.storage import open_database
from kentongan_edge.virtual import VirtualFleet, VirtualOptions
from kentongan_protocol.payloads import MAX_ACK_IDS, EventAck
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning, load_tree
from kentongan_protocol.topics import Suffix, cloud_filters, gateway_topic, parse
from kentongan_testkit.mqtt import MqttTestClient

REPO = Path(__file__).resolve().parents[2]
GATEWAY = "gs-buyut-udik-01"
ACK_BATCH = MAX_ACK_IDS  # what fits in the 8 kB payload limit


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 50) * 1000:.2f} ms, p99 {pct(values, 99) * 1000:.2f} ms, "
        f"max {max(values) * 1000:.2f} ms (n={len(values)})"
    )


class StandInCloud:
    """Receives every gateway's events, stamps their arrival, acknowledges them in batches."""

    def __init__(self, client: MqttTestClient) -> None:
        self.client = client
        client.subscribe(cloud_filters("lamteng")[1])  # kentongan/v1/lamteng/+/event
        self.arrived: dict[str, float] = {}
        self.panics: list[str] = []
        self.count = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            batch = [self.client.inbox.get()]
            now = time.monotonic()
            while len(batch) < ACK_BATCH:
                try:
                    batch.append(self.client.inbox.get_nowait())
                except queue.Empty:
                    break
            by_gateway: dict[str, list[uuid.UUID]] = {}
            for m in batch:
                e = json.loads(m.payload)
                self.arrived.setdefault(e["event_id"], now)
                if e["kind"] == "panic":
                    self.panics.append(e["event_id"])
                gateway = parse(m.topic).gateway or ""
                by_gateway.setdefault(gateway, []).append(uuid.UUID(e["event_id"]))
            self.count += len(batch)
            for gateway, ids in by_gateway.items():
                topic = gateway_topic("lamteng", gateway, Suffix.EVENT_ACK)
                self.client.client.publish(topic, EventAck(event_ids=ids).encode(), qos=1)


def quick_gateway(prov: Provisioning) -> tuple[Gateway, EdgeProfile]:
    gw = prov.gateways[GATEWAY].gateway
    gw = gw.model_copy(
        update={
            "panic_buttons": [b.model_copy(update={"hold_time_s": 0.2}) for b in gw.panic_buttons]
        }
    )
    return gw, EdgeProfile.from_district(prov.district)


def bench_siren(fleet: VirtualFleet, prov: Provisioning, presses: int) -> None:
    gw, profile = quick_gateway(prov)
    post = fleet.add(gw, profile, broker_port=None, options=VirtualOptions(telemetry=False))
    on_at: list[float] = []

    def seen(name: str, on: bool) -> None:
        if (name, on) == ("sirene_1", True):
            on_at.append(time.monotonic())

    post.fleet.call(lambda: post.d.hardware.output_listeners.append(seen))
    lat = []
    for _ in range(presses):
        n = len(on_at)
        pressed = time.monotonic()
        post.set_input("tombol_kebakaran", True)  # the GPIO edge
        time.sleep(0.3)
        post.set_input("tombol_kebakaran", False)
        time.sleep(0.05)
        post.fleet.call(post.d.alarms.stop_all)
        lat.append(on_at[n] - (pressed + 0.2))
    print(f"GPIO edge to local siren on (after the 0.2 s hold): {ms(lat)}")
    fleet.stop(post)


def bench_press_to_broker(
    fleet: VirtualFleet,
    prov: Provisioning,
    broker: MosquittoProcess,
    store: SecretStore,
    cloud: StandInCloud,
    n: int,
) -> None:
    gw, profile = quick_gateway(prov)
    post = fleet.add(
        gw,
        profile,
        broker_port=broker.port,
        password=store.get_or_create(GATEWAY),
        options=VirtualOptions(telemetry=False, synchronous="FULL"),
    )
    post.wait_connected()
    lat = []
    for _ in range(n):
        start = time.monotonic()
        event = post.raise_panic("tombol_kebakaran")
        eid = str(event.event_id)
        while eid not in cloud.arrived:
            time.sleep(0.0005)
        lat.append(cloud.arrived[eid] - start)
        post.fleet.call(post.d.alarms.stop_all)
        time.sleep(0.01)
    print(f"confirmed panic to event at the cloud's client, online, loopback: {ms(lat)}")
    fleet.stop(post)


def daemon_files(prov: Provisioning, broker: MosquittoProcess, work: Path, name: str) -> Path:
    """A gateway file for the daemon process: plain MQTT to the bench's broker."""
    data = prov.gateways[GATEWAY].gateway.model_dump(mode="json", exclude_none=True)
    data["broker"] = {
        "host": "127.0.0.1",
        "port": broker.port,
        "tls": False,
        "credentials": {"env": "KENTONGAN_MQTT_PASSWORD"},
    }
    data["outbox"] = {"path": str(work / name / "outbox.db"), "resend_after_s": 60}
    for b in data["panic_buttons"]:
        b["hold_time_s"] = 0.2
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    (work / "profile.yaml").write_text(
        yaml.safe_dump(EdgeProfile.from_district(prov.district).model_dump(mode="json"))
    )
    return path


def start_daemon(config: Path, store: SecretStore, sock: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KENTONGAN_MQTT_PASSWORD": store.get_or_create(GATEWAY)}
    cmd = [sys.executable, "-m", "kentongan_edge.cli", "simulate", "--config", str(config)]
    cmd += ["--profile", str(config.parent / "profile.yaml"), "--control", str(sock)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not sock.exists():
        time.sleep(0.05)
    return proc


def bench_drain(
    prov: Provisioning,
    broker: MosquittoProcess,
    store: SecretStore,
    cloud: StandInCloud,
    work: Path,
    n: int,
) -> None:
    config = daemon_files(prov, broker, work, "drain")
    ob = Outbox(open_database(work / "drain" / "outbox.db", synchronous="OFF"))
    f = EventFactory(
        session_id=uuid.uuid4().hex,
        boot_id=uuid.uuid4(),
        clock_synced=lambda: False,
        test_mode=lambda: False,
    )
    for _ in range(n):
        ob.add_event(f.make("sensor_triggered", "pir", source="sensor", incident_type="pencurian"))
    ob.close()
    counted = cloud.count
    started = time.monotonic()
    proc = start_daemon(config, store, work / "drain.sock")
    time.sleep(2.0)
    pressed = time.monotonic()
    asyncio.run(send_control(work / "drain.sock", "press tombol_kebakaran 0.25"))
    backlog_sent = cloud.count - counted
    while cloud.count - counted < n + 1:
        time.sleep(0.05)
    took = time.monotonic() - started
    panic_at = cloud.arrived[cloud.panics[-1]]
    print(
        f"backlog drain of {n} events by the daemon process: {took:.1f} s (start-up "
        f"included), {n / took:.0f} events/s; a panic held {backlog_sent} events into the "
        f"drain reached the cloud {(panic_at - pressed - 0.2) * 1000:.1f} ms after its hold"
    )
    proc.terminate()
    proc.wait(10)


def bench_idle(
    prov: Provisioning, broker: MosquittoProcess, store: SecretStore, work: Path, secs: float
) -> None:
    proc = start_daemon(daemon_files(prov, broker, work, "idle"), store, work / "idle.sock")
    time.sleep(3)  # imports and connection done
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    c0, t0 = cpu(), time.monotonic()
    time.sleep(secs)
    c1, t1 = cpu(), time.monotonic()
    rss = next(
        int(line.split()[1])
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    proc.terminate()
    proc.wait(10)
    cpu_pct = 100 * (c1 - c0) / (t1 - t0)
    print(
        f"idle daemon process (online, heartbeat 30 s, LED steady, analog poll 1 s): "
        f"CPU {cpu_pct:.2f} % of one core over {secs:.0f} s; RSS {rss / 1024:.1f} MB"
    )


def _client(broker: MosquittoProcess, store: SecretStore) -> MqttTestClient:
    c = MqttTestClient(broker.port, "cloud", store.get_or_create("cloud"))
    c.connect()
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kentongan-bench-"))
    shutil.copytree(REPO / "firmware_configs", work / "firmware_configs")
    prov = load_tree(work / "firmware_configs")
    store = SecretStore(work / "secrets")
    broker = MosquittoProcess(prov, store).start()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; mock pins, loopback")
    try:
        cloud = StandInCloud(_client(broker, store))
        with VirtualFleet() as fleet:
            bench_siren(fleet, prov, 20 if args.quick else 60)
            bench_press_to_broker(fleet, prov, broker, store, cloud, 100 if args.quick else 500)
        bench_drain(prov, broker, store, cloud, work, 20_000 if args.quick else 100_000)
        bench_idle(prov, broker, store, work, 10 if args.quick else 30)
        print(f"load at the end: {os.getloadavg()[0]:.2f}")
    finally:
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
