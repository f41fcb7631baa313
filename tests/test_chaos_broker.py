"""Chaos across the stack: real Mosquitto, the real edge daemons (virtual gateways) and the
cloud. The broker dies with kill -9 in the middle of a burst of panics; a gateway's link to
the broker is cut by a TCP proxy of our own. Nothing is lost, nothing doubles.

Polling with generous timeouts only: the machine is busy, no timing is asserted.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from kentongan_cloud.clock import ManualClock
from kentongan_cloud.domain.incident import Incident
from kentongan_cloud.records import EventRecord
from kentongan_edge.outbox import Outbox
from kentongan_edge.storage import open_database
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions
from kentongan_protocol.payloads import Event
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, Recorders

from tests.test_edge_delivery import GATEWAY, Daemon, daemon_files

T = TypeVar("T")
# Posts far apart in different kampung: each panic is its own incident.
BURST = [
    "tb-poncowati-01",
    "gs-buyut-udik-01",
    "pg-toto-katon-01",
    "sb-setia-bumi-01",
    "bm-mataram-udik-01",
    "tb-adi-jaya-01",
]
OPTIONS = VirtualOptions(resend_after_s=1.0, telemetry=False, reconnect_max_s=1.0)


def until(check: Callable[[], T | None], what: str, timeout: float = 90.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            msg = f"timed out waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(0.1)


@pytest.fixture
def fleet() -> Iterator[VirtualFleet]:
    with VirtualFleet() as f:
        yield f


def add_posts(
    fleet: VirtualFleet,
    provisioning: Provisioning,
    store: SecretStore,
    port: int,
    workdir: Path,
    names: list[str],
) -> dict[str, VirtualGateway]:
    profile = EdgeProfile.from_district(provisioning.district)
    posts = {
        n: fleet.add(
            provisioning.gateways[n].gateway,
            profile,
            broker_port=port,
            password=store.get_or_create(n),
            workdir=workdir,
            options=OPTIONS,
        )
        for n in names
    }
    for p in posts.values():
        assert p.wait_connected(30)
    return posts


def panic(post: VirtualGateway) -> Event:
    return post.raise_panic(post.cfg.gateway.panic_buttons[0].input)


def incidents(h: CloudHarness) -> list[Incident]:
    return h.db(lambda tx: tx.incidents.search(limit=500))


def at_least(h: CloudHarness, n: int) -> Callable[[], list[Incident] | None]:
    def check() -> list[Incident] | None:
        got = incidents(h)
        return got if len(got) >= n else None

    return check


def events_of(h: CloudHarness, incident_id: str) -> list[EventRecord]:
    return h.db(lambda tx: tx.intake.events_of(incident_id))


def test_broker_kill_9_mid_burst_every_panic_one_incident_one_notice(
    cloud: CloudFactory,
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
    broker.kill()  # kill -9 mid-burst: whatever it held in RAM is gone
    for name in BURST[half:]:
        pressed[name] = panic(posts[name])
    broker.start()
    for p in posts.values():
        assert p.wait_drained(90), f"{p.gateway_id} kept events after the broker came back"

    got = until(at_least(h, len(BURST)), "incidents")
    assert sorted(i.gateway_id or "" for i in got) == sorted(BURST)
    for inc in got:
        assert inc.count == 1, inc
        [ev] = events_of(h, inc.id)
        assert ev.event_id == str(pressed[inc.gateway_id or ""].event_id)

    clock.advance(31)  # past the cancel window: the responders are told, once per incident
    until(lambda: len(rec.notifier.notices) >= len(BURST), "one notice per incident")
    time.sleep(1.0)  # a duplicate, if any, would show up now
    told = sorted(n.incident_id for n in rec.notifier.notices.values())
    assert told == sorted(i.id for i in got)


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 between a gateway and the broker; `cut()` drops every
    connection and refuses new ones (the link is down), `restore()` lets them through."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), 5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def cut(self) -> None:
        self.open.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.server.close()


def test_a_cut_link_delivers_afterwards_flagged_historical_live_first(
    cloud: CloudFactory,
    fleet: VirtualFleet,
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    tmp_path: Path,
) -> None:
    name = "tb-poncowati-01"
    h = cloud.start()
    proxy = CuttableProxy(broker.port)
    try:
        profile = EdgeProfile.from_district(provisioning.district)
        post = fleet.add(
            provisioning.gateways[name].gateway,
            profile,
            broker_port=proxy.port,
            password=secrets_store.get_or_create(name),
            workdir=tmp_path,
            # A short live window: what waited longer than this arrives as backlog.
            options=VirtualOptions(
                resend_after_s=1.0, telemetry=False, reconnect_max_s=1.0, live_window_s=2.0
            ),
        )
        assert post.wait_connected(30)
        proxy.cut()
        assert post.wait_until(lambda d: d.link is not None and not d.link.connected, 60)
        inputs = [b.input for b in post.cfg.gateway.panic_buttons]
        old = post.raise_panic(inputs[1])  # pressed while the link is down
        time.sleep(3.0)  # it is now older than the live window
        live = post.raise_panic(inputs[0])
        proxy.restore()
        assert post.wait_drained(90)

        got = until(at_least(h, 2), "both incidents")
        by_event = {events_of(h, i.id)[0].event_id: i for i in got if events_of(h, i.id)}
        assert by_event[str(old.event_id)].historical
        assert not by_event[str(live.event_id)].historical
        # Live first: the fresh panic was committed before the backlog.
        assert by_event[str(live.event_id)].opened_at <= by_event[str(old.event_id)].opened_at
    finally:
        proxy.close()


def test_gateway_kill_9_mid_burst_its_outbox_drains_after_restart(
    cloud: CloudFactory,
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
) -> None:
    """The real daemon (`kentongan-edge simulate`, its own process) dies with kill -9 while
    its buttons are pressed; restarted, its outbox drains into exactly one incident per
    incident type pressed, each event once."""
    h = cloud.start()
    tmp = Path(tempfile.mkdtemp(prefix="kc-"))  # short: Unix socket paths are limited
    try:
        config = daemon_files(tmp, provisioning, broker.port)
        password = secrets_store.get_or_create(GATEWAY)
        first = Daemon(config, password, 1)
        buttons = ["tombol_pencurian", "tombol_kebakaran", "tombol_banjir"]

        def keep_pressing(button: str) -> None:
            for _ in range(6):
                try:
                    first.send(f"press {button} 0.25")
                except OSError:
                    return  # killed

        pressers = [threading.Thread(target=keep_pressing, args=(b,)) for b in buttons]
        for t in pressers:
            t.start()
        until(at_least(h, 1), "the first incident")
        first.kill()  # kill -9 while presses and sends are under way
        for t in pressers:
            t.join(10)
        outbox = tmp / "state" / "outbox.db"
        second = Daemon(config, password, 2)
        try:

            def drained() -> bool:
                return not Outbox(open_database(outbox)).event_ids()

            until(drained, "the restarted gateway's outbox to drain")
        finally:
            second.kill()
        got = incidents(h)
        assert sorted(i.incident_type for i in got) == ["banjir", "kebakaran", "pencurian"]
        assert all(i.gateway_id == GATEWAY for i in got)
        stored = [e.event_id for i in got for e in events_of(h, i.id)]
        assert len(stored) == len(set(stored))
        assert sum(i.count for i in got) == len(stored)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
