"""`kentongan-edge fleet`: N posts of a district as virtual gateways against a real broker.

Each post is the real daemon on mock pins with its own broker account (the passwords
`kentongan-provision broker` wrote into broker/secrets/), so the cloud, the dashboards and
the deployment see a living district before any Pi is installed. Presses are optional and
paced: duty check-ins fill the ronda views; panics raise real incidents (and notify real
responders unless `--maintenance` marks every event as a test).
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import ProvisioningError, load_tree

from kentongan_edge.errors import EX_CONFIG
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions

_LOGGER = logging.getLogger("kentongan_edge.fleet")
CONNECT_WAIT_S = 30.0


class FleetSetupError(Exception):
    """The fleet cannot start; the message says which file or option is wrong."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fleet",
        help="run N posts of a district as virtual gateways against a broker",
        description="Every post is the real daemon on mock pins, signed in with its own "
        "broker account. Stops on SIGTERM or Ctrl-C.",
    )
    p.add_argument("--config-dir", type=Path, required=True, help="firmware_configs/ tree")
    p.add_argument("--secrets", type=Path, required=True, help="broker/secrets/ directory")
    p.add_argument("--count", type=int, help="first N active posts (default: all)")
    p.add_argument("--host", default="127.0.0.1", help="broker host (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=1883, help="broker port (default: 1883)")
    p.add_argument("--tls-ca", type=Path, help="the broker's CA certificate: connect over TLS")
    p.add_argument("--workdir", type=Path, help="outbox files (default: a temporary directory)")
    p.add_argument(
        "--duty-every", type=float, default=0.0, help="a duty press at a random post every S s"
    )
    p.add_argument(
        "--panic-every",
        type=float,
        default=0.0,
        help="a panic at a random post every S s (real incidents and notifications)",
    )
    p.add_argument("--maintenance", action="store_true", help="every event goes out as status=test")
    p.add_argument("--seed", type=int, help="random seed of the presses")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")


@dataclass(frozen=True)
class Post:
    gateway: Gateway
    password: str


def choose_posts(
    config_dir: Path, secrets: Path, count: int | None
) -> tuple[EdgeProfile, list[Post]]:
    """The district's profile and the first `count` active posts with their passwords."""
    try:
        prov = load_tree(config_dir)
    except ProvisioningError as exc:
        lines = "\n".join(str(p) for p in exc.problems)
        msg = f"{config_dir}: {exc}\n{lines}"
        raise FleetSetupError(msg) from exc
    active = prov.active_gateways()
    if count is not None and not 1 <= count <= len(active):
        msg = f"--count {count}: {config_dir} has {len(active)} active posts (1 to {len(active)})"
        raise FleetSetupError(msg)
    store = SecretStore(secrets)
    posts = []
    for gw in active[:count]:
        try:
            password = store.get(gw.gateway_id)
        except OSError as exc:
            msg = f"{secrets}/{gw.gateway_id}.password: cannot read ({exc.strerror})"
            raise FleetSetupError(msg) from exc
        if not password:
            msg = (
                f"{secrets}/{gw.gateway_id}.password: missing; run `kentongan-provision broker` "
                "for this district first"
            )
            raise FleetSetupError(msg)
        posts.append(Post(gw, password))
    return EdgeProfile.from_district(prov.district), posts


class Presser:
    """Paced presses at random posts: duty check-ins and out, panics."""

    def __init__(self, args: argparse.Namespace, posts: list[VirtualGateway]) -> None:
        self.posts = posts
        self.rng = random.Random(args.seed)
        now = time.monotonic()
        self.every = {"duty": args.duty_every, "panic": args.panic_every}
        self.due = {k: now + v for k, v in self.every.items() if v > 0}

    def wait_s(self) -> float:
        return max(0.0, min(self.due.values()) - time.monotonic()) if self.due else 3600.0

    def press_due(self) -> None:
        now = time.monotonic()
        for kind, at in list(self.due.items()):
            if at <= now:
                self.due[kind] = now + self.every[kind]
                self._press(kind)

    def _press(self, kind: str) -> None:
        post = self.rng.choice(self.posts)
        gw = post.cfg.gateway
        if kind == "duty":
            if gw.duty_button is None:
                return
            name = gw.duty_button.input
        else:
            name = self.rng.choice(gw.panic_buttons).input
        events = post.press(name)
        _LOGGER.info("%s: pressed %s -> %s", post.gateway_id, name, [e.kind for e in events])


def run(args: argparse.Namespace) -> int:
    if args.tls_ca is not None and not args.tls_ca.is_file():
        _LOGGER.critical("--tls-ca %s: no such file", args.tls_ca)
        return EX_CONFIG
    try:
        profile, posts = choose_posts(args.config_dir, args.secrets, args.count)
    except FleetSetupError as exc:
        _LOGGER.critical("%s", exc)
        return EX_CONFIG
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="kentongan-fleet-") as tmp, VirtualFleet() as fleet:
        workdir = args.workdir or Path(tmp)
        # The Pi's own pacing (its gateway file), not the fast defaults of tests.
        options = VirtualOptions(reconnect_max_s=30.0, window=10)
        made = [
            fleet.add(
                p.gateway,
                profile,
                broker_host=args.host,
                broker_port=args.port,
                password=p.password,
                tls_ca_file=str(args.tls_ca) if args.tls_ca else None,
                workdir=workdir,
                options=options,
                start=False,
            )
            for p in posts
        ]
        fleet.start_all(made)
        deadline = time.monotonic() + CONNECT_WAIT_S
        up = [g for g in made if g.wait_connected(max(0.1, deadline - time.monotonic()))]
        _LOGGER.info("%d of %d posts connected to %s:%d", len(up), len(made), args.host, args.port)
        if args.maintenance:
            for g in made:
                g.set_maintenance(10 * 365 * 24 * 60)  # for as long as the fleet runs
        presser = Presser(args, made)
        while not stop.wait(presser.wait_s()):
            presser.press_due()
    _LOGGER.info("fleet stopped")
    return 0
