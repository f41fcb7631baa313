"""`kentongan-demo`: the whole network on one machine with embedded defaults.

Mosquitto with the generated configuration of the sample district, the cloud (SQLite in a
work directory, local mode, the HTTP API on uvicorn, MQTT intake, outbox, responders) and
every gateway of the district as a virtual gateway (the real edge daemon on mock pins).
A short scenario plays and prints its timeline; then the console stays open until Ctrl-C.

Notifications go to a receiver of our own on 127.0.0.1 that answers like the providers
(WhatsApp Cloud API, Twilio, Telegram, the agencies' webhooks), so every message the
responders send is captured and printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import uvicorn
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions
from kentongan_protocol.provisioning.broker_process import (
    BrokerUnavailableError,
    MosquittoProcess,
    free_port,
    mosquitto_binary,
)
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning, load_tree

from kentongan_cloud.api.app import create_app
from kentongan_cloud.api.auth import hash_password
from kentongan_cloud.records import UserRecord
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.settings import Settings

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

OPERATOR = "operator"
FIRST_POST = "tb-poncowati-01"
SECOND_POST = "tb-poncowati-02"
PANIC_INPUT = "tombol_pencurian"
WAIT_S = 30.0
WEBHOOK_LINE = re.compile(r'(\{type: webhook, to: ")([^"]+)(")')
SECRET_ENV = re.compile(r"secret_env: (KENTONGAN_[A-Z0-9_]+)")
LINK = re.compile(r"https?://[^\s\"<>]+/t/[A-Za-z0-9_\-.~%]+")


class DemoError(RuntimeError):
    """The demo could not go on (what failed is in the message)."""


def _default_config() -> Path:
    return Path(__file__).resolve().parents[3] / "firmware_configs"


# --- the demo clock --------------------------------------------------------------------------


class DemoClock:
    """The machine's clock plus an offset the demo moves forward (the responders' time)."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def skip(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)


# --- the local receiver of notifications -----------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    channel: str
    to: str
    text: str
    idempotency_key: str | None
    at: float


@dataclass
class Receiver:
    """Answers like WhatsApp, Twilio, Telegram and the agencies' webhooks; keeps each message."""

    messages: list[Delivered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self.server is None:
            msg = "the receiver is not running"
            raise DemoError(msg)
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def snapshot(self) -> list[Delivered]:
        with self.lock:
            return list(self.messages)

    def _keep(self, msg: Delivered) -> None:
        with self.lock:
            self.messages.append(msg)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("Idempotency-Key")
                path = self.path
                answer: dict[str, Any] = {}
                status = 200
                if path.startswith("/whatsapp/"):
                    doc = json.loads(body or b"{}")
                    text = str((doc.get("text") or {}).get("body") or doc.get("template", ""))
                    receiver._keep(Delivered("whatsapp", str(doc.get("to")), text, key, _now()))
                    answer = {"messages": [{"id": "wamid.demo" + secrets.token_hex(6)}]}
                elif path.startswith("/sms/"):
                    form = parse_qs(body.decode())
                    to = form.get("To", [""])[0]
                    receiver._keep(Delivered("sms", to, form.get("Body", [""])[0], key, _now()))
                    answer = {"sid": "SM" + secrets.token_hex(16), "status": "queued"}
                    status = 201
                elif path.startswith("/telegram/"):
                    doc = json.loads(body or b"{}")
                    chat = str(doc.get("chat_id"))
                    receiver._keep(Delivered("telegram", chat, str(doc.get("text")), key, _now()))
                    answer = {"ok": True, "result": {"message_id": len(receiver.messages)}}
                else:
                    receiver._keep(
                        Delivered("webhook", path, body.decode(errors="replace"), key, _now())
                    )
                    status = 202
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _now() -> float:
    return time.monotonic()


# --- the district for the demo ---------------------------------------------------------------


def prepare_config(source: Path, dest: Path, receiver_url: str) -> dict[str, str]:
    """Copy the district, point its webhooks at the receiver; return the webhook secrets."""
    shutil.copytree(source, dest)
    district = dest / "district.yaml"
    text = district.read_text(encoding="utf-8")
    count = 0

    def local(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"{m.group(1)}{receiver_url}/webhook/{count}{m.group(3)}"

    text = WEBHOOK_LINE.sub(local, text)
    district.write_text(text, encoding="utf-8")
    return {name: secrets.token_urlsafe(24) for name in SECRET_ENV.findall(text)}


def demo_settings(
    config_dir: Path, data_dir: Path, broker_port: int, cloud_password: str, port: int, rx: str
) -> Settings:
    return Settings(
        mode="local",
        config_dir=config_dir,
        data_dir=data_dir,
        mqtt={"port": broker_port, "password": cloud_password},
        fleet={"sweep_interval_s": 1.0},
        outbox={"poll_interval_s": 0.2},
        responders={
            "public_url": f"http://127.0.0.1:{port}",
            "whatsapp": {
                "token": "demo-token",
                "phone_number_id": "6281200000",
                "api_base": f"{rx}/whatsapp",
            },
            "sms": {
                "account_sid": "AC" + "0" * 32,
                "auth_token": "demo-token",
                "from_number": "+6281100000000",
                "api_base": f"{rx}/sms",
            },
            "telegram": {"bot_token": "123456:demo", "api_base": f"{rx}/telegram"},
        },
    )


# --- the timeline ----------------------------------------------------------------------------


class Timeline:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def say(self, label: str, detail: str = "") -> None:
        t = time.monotonic() - self.t0
        line = f"[+{t:6.2f} s] {label}"
        if detail:
            line += f" — {detail}"
        print(line, flush=True)

    def more(self, text: str) -> None:
        for row in text.splitlines():
            print(f"             │ {row}", flush=True)


# --- the scenario ----------------------------------------------------------------------------


@dataclass
class Scenario:
    base_url: str
    password: str
    gateways: dict[str, VirtualGateway]
    receiver: Receiver
    clock: DemoClock
    ack_timeout_s: int
    abort: threading.Event
    timeline: Timeline = field(default_factory=Timeline)
    token: str = ""

    def wait(self, check: Callable[[], T | None], what: str, timeout: float = WAIT_S) -> T:
        deadline = time.monotonic() + timeout
        while True:
            if self.abort.is_set():
                msg = "stopped"
                raise DemoError(msg)
            got = check()
            if got:
                return got
            if time.monotonic() > deadline:
                msg = f"timed out waiting for {what}"
                raise DemoError(msg)
            time.sleep(0.05)

    def api(self, http: httpx.Client, method: str, path: str, **kw: Any) -> Any:
        r = http.request(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kw)
        if r.status_code >= 400:
            msg = f"{method} {path}: {r.status_code} {r.text[:300]}"
            raise DemoError(msg)
        return r.json()

    def run(self) -> None:
        tl = self.timeline
        with httpx.Client(base_url=self.base_url, timeout=15) as http:
            r = http.post(
                "/api/v1/auth/login", json={"username": OPERATOR, "password": self.password}
            )
            if r.status_code != 200:
                msg = f"operator login failed: {r.status_code} {r.text[:200]}"
                raise DemoError(msg)
            self.token = str(r.json()["token"])
            self._play(http, tl)

    def _play(self, http: httpx.Client, tl: Timeline) -> None:
        first = self.gateways[FIRST_POST]
        tl.t0 = time.monotonic()
        tl.say(
            "1. Tombol panik ditahan (panic button held)",
            f"{first.cfg.gateway.post_name} ({FIRST_POST}), {PANIC_INPUT}",
        )
        events = first.press(PANIC_INPUT)
        panics = [e for e in events if e.kind == "panic"]
        if not panics:
            msg = f"{FIRST_POST} recorded no panic"
            raise DemoError(msg)
        press = panics[0]
        self.wait(lambda: first.alarms, "the local siren")
        tl.say("2. Sirine lokal berbunyi (local siren on)", f"{FIRST_POST}, tanpa menunggu cloud")

        [inc] = self.wait(lambda: self.incidents(http), "the incident")
        opened = datetime.fromisoformat(inc["opened_at"])
        ms = (opened - press.occurred_at).total_seconds() * 1000
        tl.say(
            "3. Insiden tercatat (incident committed)",
            f"{inc['type_label']} di {inc['post_name']}, {ms:.0f} ms sejak tombol ditekan "
            f"(since the press), id {inc['id']}",
        )
        paths = self._confirm(http, tl)
        self._notify_and_ack(http, tl, paths)
        self._escalate(tl)
        self._all_clear(http, tl, paths)

    def incidents(self, http: httpx.Client) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = self.api(http, "GET", "/api/v1/incidents")
        return got

    def _confirm(self, http: httpx.Client, tl: Timeline) -> list[str]:
        second = self.gateways[SECOND_POST]

        tl.say(
            "4. Aktivasi kedua (second activation)",
            f"{second.cfg.gateway.post_name} ({SECOND_POST}), {PANIC_INPUT}",
        )
        second.press(PANIC_INPUT)

        def confirmed() -> list[dict[str, Any]] | None:
            got = self.incidents(http)
            return got if len(got) == 2 and all(i["confirmed"] for i in got) else None

        both = self.wait(confirmed, "the confirmation")
        paths = [f"/api/v1/incidents/{i['id']}" for i in both]
        tl.say(
            "5. Insiden terkonfirmasi (incident confirmed)",
            "aktivasi kedua dalam 2 menit di pos tetangga (second activation within 2 minutes "
            "at a neighbouring post): kedua insiden terkonfirmasi (both incidents confirmed)",
        )

        def acked_commands() -> list[dict[str, Any]] | None:
            cmds: list[dict[str, Any]] = []
            for p in paths:
                d: dict[str, Any] = self.api(http, "GET", p)
                cmds += [c for c in d["commands"] if c["action"] == "siren_on"]
            if cmds and all(c["acks"] for c in cmds):
                return cmds
            return None

        cmds = self.wait(acked_commands, "the neighbours' siren command acks")
        for c in cmds:
            for a in c["acks"]:
                gw = self.gateways.get(a["gateway_id"])
                on = bool(gw.alarms) if gw is not None else False
                siren = "berbunyi (sounding)" if on else "diam (silent)"
                tl.say(
                    "6. Sirine tetangga berbunyi (neighbour siren on)",
                    f"{a['gateway_id']}: perintah {c['action']} dari cloud diterima (command "
                    f"ack: {a['result']}), sirene {siren}",
                )
        return paths

    def new_messages(self, since: int) -> list[Delivered]:
        return self.receiver.snapshot()[since:]

    def _notify_and_ack(self, http: httpx.Client, tl: Timeline, paths: list[str]) -> None:

        self.wait(lambda: self.new_messages(0), "the first notification")
        time.sleep(1.0)  # let the rest of the first round arrive
        batch = self.new_messages(0)
        with_link = [m for m in batch if LINK.search(m.text)]
        shown = with_link[0] if with_link else batch[0]
        tl.say(
            "7. Notifikasi terkirim (notification sent)",
            f"{len(batch)} pesan (messages); contoh {shown.channel} ke {shown.to}:",
        )
        tl.more(shown.text)
        if not with_link:
            msg = "no notification carried an acknowledgement link"
            raise DemoError(msg)
        url = LINK.findall(shown.text)[0]
        page = http.get(url)
        if page.status_code != 200:
            msg = f"GET {url}: {page.status_code}"
            raise DemoError(msg)
        tl.say("8. Tautan Terima dibuka (one-tap link opened)", f"GET {url} → {page.status_code}")
        tap = http.post(url)
        if tap.status_code != 200:
            msg = f"POST {url}: {tap.status_code} {tap.text[:200]}"
            raise DemoError(msg)
        tl.say("9. Terima ditekan (Terima tapped)", f"POST → {tap.status_code}")

        def responder_note() -> list[dict[str, Any]]:
            notes: list[dict[str, Any]] = []
            for p in paths:
                d: dict[str, Any] = self.api(http, "GET", p)
                notes += [a for a in d["audit"] if str(a["actor"]).startswith("responder:")]
            return notes

        [note] = self.wait(responder_note, "the acknowledgement on the incident's timeline")
        tl.say("10. Penerimaan tercatat (acknowledgement recorded)", str(note["detail"]))

    def _escalate(self, tl: Timeline) -> None:

        sent_before = len(self.receiver.snapshot())
        skip = self.ack_timeout_s + 5
        self.clock.skip(skip)
        tl.say(
            "11. Jam demo dimajukan (demo clock advanced)",
            f"+{skip} s: belum ada yang menerima dari instansi lain dalam {self.ack_timeout_s} s "
            f"(no one else acknowledged within the timeout)",
        )
        self.wait(lambda: self.new_messages(sent_before), "the escalation")
        time.sleep(1.0)
        batch = self.new_messages(sent_before)
        who = sorted({f"{m.channel}:{m.to}" for m in batch})
        tl.say(
            "12. Eskalasi (escalation)",
            f"{len(batch)} pesan ronde berikutnya (next round): {', '.join(who)}",
        )
        tl.more(batch[0].text.splitlines()[0] if batch[0].text else "")

    def _all_clear(self, http: httpx.Client, tl: Timeline, paths: list[str]) -> None:
        for p in paths:
            self.api(http, "POST", f"{p}/resolve", json={"note": "Aman, pelaku sudah kabur"})
        tl.say(
            "13. Operator menyatakan aman (all-clear)",
            f"operator '{OPERATOR}' menutup {len(paths)} insiden (closes the incidents)",
        )

        def off_acked() -> list[dict[str, Any]] | None:
            cmds: list[dict[str, Any]] = []
            for p in paths:
                d: dict[str, Any] = self.api(http, "GET", p)
                cmds += [c for c in d["commands"] if c["action"] == "siren_off"]
            return cmds if cmds and all(c["acks"] for c in cmds) else None

        def cloud_sirens() -> list[str]:
            return [
                g.gateway_id
                for g in self.gateways.values()
                if any(k.startswith("alarm:") for k in g.alarms)
            ]

        cmds = self.wait(off_acked, "the siren_off acks")
        self.wait(lambda: not cloud_sirens(), "the sirens the cloud started to stop")
        for c in cmds:
            for a in c["acks"]:
                tl.say(
                    "14. Sirine berhenti (sirens stopped)",
                    f"{a['gateway_id']}: perintah siren_off diterima (command ack: "
                    f"{a['result']}, {a['detail']})",
                )
        local = sorted(g.gateway_id for g in self.gateways.values() if g.alarms)
        if local:
            tl.more(
                f"sirene lokal di pos penekan ({', '.join(local)}) berhenti sendiri setelah "
                "max_siren_s (local sirens at the pressing posts run out by themselves)"
            )


# --- running it all --------------------------------------------------------------------------


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


def _print_console(url: str, password: str) -> None:
    print()
    print(f"Konsol (console): {url}/konsol")
    print(f"Login operator: {OPERATOR} / {password}")
    print(f"Lapor warga (resident form): {url}/lapor")
    print(f"API: {url}/docs")
    print(flush=True)


async def _create_operator(rt: CloudRuntime, password: str) -> None:
    async with rt.db.transaction() as tx:
        await tx.users.upsert(
            UserRecord(OPERATOR, hash_password(password), "operator", None, True),
            datetime.now(UTC),
        )


async def _serve_http(
    settings: Settings, rt: CloudRuntime, port: int
) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(
        create_app(settings, runtime=rt), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
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


async def _bring_up(demo: Demo, workdir: Path) -> Up:
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
    port = demo.args.port or free_port()
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
    await _create_operator(rt, password)
    demo.server, demo.serving = await _serve_http(settings, rt, port)
    print(f"Cloud: {url} (SQLite {settings.data_dir / 'kentongan.db'})", flush=True)
    gateways = await asyncio.to_thread(demo.start_gateways, broker.port, store)
    print(f"{len(gateways)} gateway virtual terhubung (virtual gateways connected)", flush=True)
    return Up(url, password, clock, gateways, prov.district.escalation.ack_timeout_s)


async def _shut_down(demo: Demo) -> None:
    """Everything stopped in order: HTTP, gateways, cloud (SQLite closed), broker."""
    if demo.server is not None:
        demo.server.should_exit = True
    if demo.serving is not None:
        with contextlib.suppress(Exception):
            await demo.serving
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


async def _amain(args: argparse.Namespace, workdir: Path) -> int:
    demo = Demo(args, workdir)
    stop = asyncio.Event()
    abort = threading.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        abort.set()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    code = 0
    try:
        up = await _bring_up(demo, workdir)
        if not args.no_scenario:
            print("\nSkenario (scenario):", flush=True)
            scenario = Scenario(
                up.url, up.password, up.gateways, demo.receiver, up.clock, up.ack_timeout_s, abort
            )
            await asyncio.to_thread(scenario.run)
            print("Skenario selesai (scenario complete)", flush=True)
        _print_console(up.url, up.password)
        if not args.exit_after_scenario:
            print("Tekan Ctrl-C untuk berhenti (press Ctrl-C to stop).", flush=True)
            await stop.wait()
    except (DemoError, BrokerUnavailableError) as exc:
        if not abort.is_set():
            print(f"kentongan-demo: {exc}", file=sys.stderr)
            code = 1
    finally:
        await _shut_down(demo)
    return code


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    path = Path(tempfile.mkdtemp(prefix="kentongan-demo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kentongan-demo",
        description="Run a whole Kentongan district on this machine (broker, cloud with "
        "SQLite, the sample district's gateways as virtual gateways), play a short scenario "
        "and leave the console open.",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=_default_config(),
        help="provisioning tree (default: the sample district, Lampung Tengah)",
    )
    p.add_argument("--port", type=int, default=None, help="HTTP port (default: a free one)")
    p.add_argument("--no-scenario", action="store_true", help="only bring the network up")
    p.add_argument(
        "--exit-after-scenario", action="store_true", help="stop once the scenario has played"
    )
    p.add_argument("--workdir", type=Path, default=None, help="keep files here (default: temp)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the services' logs")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        mosquitto_binary()
    except BrokerUnavailableError as exc:
        print(f"kentongan-demo: {exc}", file=sys.stderr)
        return 69
    with _workdir(args.workdir) as workdir:
        return asyncio.run(_amain(args, workdir))
