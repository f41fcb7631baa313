"""`kentongan-demo`: the whole network on one machine with embedded defaults."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import tempfile
import threading
from pathlib import Path

from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import load_tree

_LOGGER = logging.getLogger(__name__)


def _default_config() -> Path:
    return Path(__file__).resolve().parents[3] / "firmware_configs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kentongan-demo",
        description="Run a Kentongan district on this machine: the broker with the generated "
        "configuration of the sample district (Lampung Tengah).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=_default_config(),
        help="provisioning tree (default: the sample district)",
    )
    parser.add_argument("--port", type=int, default=None, help="broker port (default: a free one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    prov = load_tree(args.config)
    workdir = Path(tempfile.mkdtemp(prefix="kentongan-demo-"))
    store = SecretStore(workdir / "secrets")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with MosquittoProcess(prov, store, port=args.port) as broker:
        print(
            f"Broker (Mosquitto) on 127.0.0.1:{broker.port} for district "
            f"{prov.district.district.name}, {len(prov.active_gateways())} gateways provisioned"
        )
        print(f"Technician login (read-only): technician / {store.get_or_create('technician')}")
        print(
            f"Watch: mosquitto_sub -p {broker.port} -u technician -P "
            f"{store.get_or_create('technician')} -t 'kentongan/#' -v"
        )
        print("Press Ctrl-C to stop.")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0
