"""`kentongan-demo`: the command line, and the run from bring-up to a clean stop."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from kentongan_protocol.provisioning.broker_process import BrokerUnavailableError, mosquitto_binary

from kentongan_cloud.demo.errors import DemoError
from kentongan_cloud.demo.network import Demo, bring_up, shut_down
from kentongan_cloud.demo.scenario import OPERATOR, Scenario


def _default_config() -> Path:
    return Path(__file__).resolve().parents[4] / "firmware_configs"


def _print_console(url: str, password: str) -> None:
    print()
    print(f"Konsol (console): {url}/konsol")
    print(f"Login operator: {OPERATOR} / {password}")
    print(f"Lapor warga (resident form): {url}/lapor")
    print(f"API: {url}/docs")
    print(flush=True)


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
        up = await bring_up(demo, workdir)
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
        await shut_down(demo)
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
