"""Bringing the network up and down: receiver, broker, cloud with its HTTP server, and the
district's gateways as virtual gateways, each in order."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning, load_tree

from kentongan_cloud.api.app import create_app
from kentongan_cloud.api.auth import hash_password
from kentongan_cloud.demo.clock import DemoClock
from kentongan_cloud.demo.district import demo_settings, prepare_config
from kentongan_cloud.demo.errors import DemoError
from kentongan_cloud.demo.receiver import Receiver
from kentongan_cloud.demo.scenario import OPERATOR
from kentongan_cloud.records import UserRecord
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.settings import Settings


@dataclass
class Demo:
    args: argparse.Namespace
    workdir: Path
    prov: Provisioning | None = None
    receiver: Receiver = field(default_factory=Receiver)
    broker: MosquittoProcess | None = None
    fleet: VirtualFleet | None = None
    runtime: CloudRuntime | None = None
    server: uvicorn.Server | None = None
    serving: asyncio.Task[None] | None = None
    listener: socket.socket | None = None

    def start_gateways(self, port: int, store: SecretStore) -> dict[str, VirtualGateway]:
        if self.prov is None:
            msg = "no district loaded"
            raise DemoError(msg)
        profile = EdgeProfile.from_district(self.prov.district)
        self.fleet = VirtualFleet()
        made: list[VirtualGateway] = []
        for gw in self.prov.active_gateways():
            made.append(
                self.fleet.add(
                    gw,
                    profile,
                    broker_port=port,
                    password=store.get_or_create(gw.gateway_id),
                    workdir=self.workdir / "gateways",
                    options=VirtualOptions(resend_after_s=2.0),
                    start=False,
                )
            )
        self.fleet.start_all(made)
        for g in made:
            if not g.wait_connected(30):
                msg = f"virtual gateway {g.gateway_id} did not connect"
                raise DemoError(msg)
        return {g.gateway_id: g for g in made}


async def create_operator(rt: CloudRuntime, password: str) -> None:
    async with rt.db.transaction() as tx:
        await tx.users.upsert(
            UserRecord(OPERATOR, hash_password(password), "operator", None, True),
            datetime.now(UTC),
        )


def _listen(port: int | None) -> socket.socket:
    """The HTTP socket, bound before anything else starts. A port found free and bound only
    later could be taken in between: the cloud's and the gateways' own connections draw
    their local ports from the same range."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port or 0))
    except OSError as exc:
        sock.close()
        msg = f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; choose another --port"
        raise DemoError(msg) from exc
    return sock


async def _serve_http(
    settings: Settings, rt: CloudRuntime, listener: socket.socket
) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, runtime=rt), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if serving.done():
            await serving
            msg = f"the HTTP server did not start on port {port}"
            raise DemoError(msg)
        await asyncio.sleep(0.05)
    return server, serving


@dataclass
class Up:
    url: str
    password: str
    clock: DemoClock
    gateways: dict[str, VirtualGateway]
    ack_timeout_s: int


async def bring_up(demo: Demo, workdir: Path) -> Up:
    """Receiver, broker, cloud and HTTP, then the gateways; each kept on `demo` as it starts,
    so that `shut_down` stops what did start even when a later step failed."""
    listener = demo.listener = _listen(demo.args.port)
    demo.receiver.start()
    config = workdir / "config"
    webhook_secrets = await asyncio.to_thread(
        prepare_config, demo.args.config, config, demo.receiver.url
    )
    for name, value in webhook_secrets.items():
        os.environ.setdefault(name, value)
    prov = demo.prov = await asyncio.to_thread(load_tree, config)
    store = SecretStore(workdir / "secrets")
    await asyncio.to_thread((workdir / "gateways").mkdir, exist_ok=True)
    # Its own temporary directory: as root, Mosquitto drops to its own user, which must
    # reach the directory (a --workdir may sit under a private one).
    broker = demo.broker = MosquittoProcess(prov, store)
    await asyncio.to_thread(broker.start)
    print(
        f"Broker (Mosquitto) 127.0.0.1:{broker.port} — {prov.district.district.name}, "
        f"{len(prov.active_gateways())} pos",
        flush=True,
    )
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    clock = DemoClock()
    settings = demo_settings(
        config,
        workdir / "cloud",
        broker.port,
        store.get_or_create("cloud"),
        port,
        demo.receiver.url,
    )
    rt = demo.runtime = CloudRuntime(settings, provisioning=prov, responders_clock=clock)
    await rt.start()
    password = secrets.token_urlsafe(9)
    await create_operator(rt, password)
    demo.server, demo.serving = await _serve_http(settings, rt, listener)
    print(f"Cloud: {url} (SQLite {settings.data_dir / 'kentongan.db'})", flush=True)
    gateways = await asyncio.to_thread(demo.start_gateways, broker.port, store)
    print(f"{len(gateways)} gateway virtual terhubung (virtual gateways connected)", flush=True)
    return Up(url, password, clock, gateways, prov.district.escalation.ack_timeout_s)


async def shut_down(demo: Demo) -> None:
    """Everything stopped in order: HTTP, gateways, cloud (SQLite closed), broker."""
    if demo.server is not None:
        demo.server.should_exit = True
    if demo.serving is not None:
        with contextlib.suppress(Exception):
            await demo.serving
    if demo.listener is not None:
        demo.listener.close()
    if demo.fleet is not None:
        await asyncio.to_thread(demo.fleet.close)
    if demo.runtime is not None:
        with contextlib.suppress(Exception):
            await demo.runtime.stop()
    if demo.broker is not None:
        await asyncio.to_thread(demo.broker.stop)
        await asyncio.to_thread(shutil.rmtree, demo.broker.workdir, ignore_errors=True)
    demo.receiver.stop()
    print("Berhenti dengan rapi (stopped cleanly).", flush=True)
