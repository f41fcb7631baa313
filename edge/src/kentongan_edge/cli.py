"""`kentongan-edge`: run the daemon, check a configuration, simulate a post on mock pins
(or a whole district's posts: `fleet`).

Exit codes: 0 fine; 78 bad configuration or credentials (systemd does not restart);
69 broker unreachable (check); 77 broker refused the credentials (check); 1 other errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from kentongan_edge import __version__, fleetsim
from kentongan_edge import config as config_mod
from kentongan_edge.control import Console, send_control, serve_control
from kentongan_edge.daemon import MAINTENANCE_KEY, DaemonOptions, GatewayDaemon
from kentongan_edge.errors import EX_CONFIG, ConfigError, CredentialsError, EdgeError
from kentongan_edge.hardware import PinFactory, mock_pins, pin_map
from kentongan_edge.link import LinkSettings, MqttLink
from kentongan_edge.runtime import StateSettings, build_daemon, link_settings_for, open_state
from kentongan_edge.sdnotify import notify, watchdog_interval_s

_LOGGER = logging.getLogger("kentongan_edge")
EX_UNAVAILABLE = 69
EX_NOPERM = 77


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kentongan-edge",
        description="Kentongan gateway daemon for the Raspberry Pi at a pos kamling.",
    )
    p.add_argument("--version", action="version", version=f"kentongan-edge {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def config_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--config", type=Path, default=config_mod.DEFAULT_CONFIG, help="gateway YAML"
        )
        sp.add_argument(
            "--profile", type=Path, help="district profile YAML (default: beside --config)"
        )
        sp.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    run = sub.add_parser("run", help="run the daemon on the Pi's GPIO (systemd runs this)")
    config_args(run)
    run.add_argument(
        "--reconnect-max", type=float, default=30.0, help="longest pause between reconnects, s"
    )

    check = sub.add_parser(
        "check",
        help="validate the files, read the credentials, try the broker, list the pin map",
        description="Stop the service first: the check signs in as this gateway.",
    )
    config_args(check)
    check.add_argument("--offline", action="store_true", help="do not contact the broker")

    sim = sub.add_parser(
        "simulate",
        help="run the real daemon on mock pins; press buttons from the keyboard or a script",
    )
    config_args(sim)
    sim.add_argument("--offline", action="store_true", help="no broker: the post works alone")
    sim.add_argument("--script", type=Path, help="console commands to run, one per line")
    sim.add_argument("--control", type=Path, help="Unix socket for `kentongan-edge press`")
    sim.add_argument("--outbox", type=Path, help="outbox file (default: from the gateway file)")
    sim.add_argument("--reconnect-max", type=float, default=30.0, help=argparse.SUPPRESS)

    press = sub.add_parser("press", help="press a button of a running `simulate`")
    press.add_argument("input", help="input name, e.g. tombol_kebakaran")
    press.add_argument("--hold", type=float, help="seconds (default: its hold time + 0.3)")
    press.add_argument("--control", type=Path, required=True, help="simulate's --control socket")

    maint = sub.add_parser("maintenance", help="events marked status=test for a while")
    config_args(maint)
    maint.add_argument("state", choices=("on", "off"))
    maint.add_argument("--minutes", type=float, default=60.0)
    fleetsim.add_parser(sub)
    return p


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _load(args: argparse.Namespace) -> config_mod.EdgeConfig:
    try:
        return config_mod.load(args.config, args.profile)
    except ConfigError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        print(f"{len(exc.problems)} problem(s): not starting", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from exc


def _link(cfg: config_mod.EdgeConfig, reconnect_max: float) -> LinkSettings:
    try:
        password = config_mod.read_password(cfg.gateway)
    except CredentialsError as exc:
        print(f"{args_file(cfg)}: broker.credentials: {exc}", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from exc
    settings = link_settings_for(cfg.gateway, password)
    return replace(settings, reconnect_max_s=max(reconnect_max, settings.reconnect_min_s))


def args_file(cfg: config_mod.EdgeConfig) -> str:
    return str(cfg.gateway_path or "(gateway file)")


async def _run_daemon(
    cfg: config_mod.EdgeConfig,
    *,
    link: LinkSettings | None,
    factory: PinFactory | None,
    state: StateSettings | None,
    console_script: list[str] | None = None,
    control: Path | None = None,
    interactive: bool = False,
) -> int:
    options = DaemonOptions()
    daemon = build_daemon(cfg, state=state, link=link, factory=factory, options=options)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(daemon))
    console = Console(daemon)
    if factory is not None:
        _show(daemon)
    await daemon.start()
    notify("READY=1")
    tasks: list[asyncio.Task[object]] = [loop.create_task(stop.wait())]
    tasks.append(loop.create_task(daemon.wait_stopped()))
    tasks.append(loop.create_task(console.quit.wait()))
    server = await serve_control(console, control) if control is not None else None
    if console_script is not None:
        tasks.append(loop.create_task(_script(console, console_script)))
    if interactive:
        tasks.append(loop.create_task(_stdin(console)))
    interval = watchdog_interval_s()
    if interval is not None:
        tasks.append(loop.create_task(_watchdog(interval)))
    await asyncio.wait(tasks[:3], return_when=asyncio.FIRST_COMPLETED)
    for t in tasks:
        t.cancel()
    if server is not None:
        server.close()
    notify("STOPPING=1")
    if not daemon.stopped:
        await daemon.stop()
    return 0


def _reload(daemon: GatewayDaemon) -> None:
    result, detail = daemon.actions.reload()
    daemon.log.info("reload on SIGHUP: %s (%s)", result, detail)


async def _watchdog(interval: float) -> None:
    # Pinged from the event loop: a stuck loop stops the pings and systemd restarts us.
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)


async def _script(console: Console, lines: list[str]) -> None:
    for line in lines:
        reply = await console.execute(line)
        if reply:
            print(f"> {line.strip()}\n{reply}", flush=True)
        if console.quit.is_set():
            return


async def _stdin(console: Console) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (ValueError, OSError):
        return  # stdin is a plain file or closed: nobody types here
    print("kentongan-edge simulate: type `help` for commands", flush=True)
    while line := await reader.readline():
        reply = await console.execute(line.decode("utf-8", "replace"))
        if reply:
            print(reply, flush=True)
    # End of input: keep running until a signal.


def _show(daemon: GatewayDaemon) -> None:
    """Print what a person at the post would see and hear (simulate only)."""
    last: list[list[str]] = [[]]

    def on_output(name: str, on: bool) -> None:
        now = daemon.alarms.active()
        if now != last[0]:
            last[0] = now
            print(f"[alarms] {', '.join(now) or 'silent'}", flush=True)
        if name in daemon.hardware.outputs("strobe"):
            print(f"[{name}] {'ON' if on else 'off'}", flush=True)

    daemon.hardware.output_listeners.append(on_output)
    daemon.options.event_hooks.append(
        lambda e: print(
            f"[event] {e.kind} {e.input} {e.incident_type or ''} status={e.status} id={e.event_id}",
            flush=True,
        )
    )


class _Quiet:
    """A link listener that only needs the link's own state (for `check`)."""

    def link_up(self) -> None: ...

    def link_down(self, reason: str) -> None: ...

    def link_refused(self, reason: str) -> None: ...

    def link_message(self, topic: str, payload: bytes, expiry_s: int | None) -> None: ...

    def link_published(self, mid: int, reason_code: int) -> None: ...


async def check_connection(
    settings: LinkSettings, timeout_s: float = 8.0
) -> tuple[bool, str, bool]:
    """Sign in once, clean, without will or subscriptions: (ok, what happened, refused).

    Stop the service first: the broker gives each gateway one session, and this one ends
    the daemon's.
    """
    link = MqttLink(
        replace(settings, clean_start=True, session_expiry_s=0), _Quiet(), subscriptions=[]
    )
    link.start()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if link.connected:
                return True, "connected, credentials accepted", False
            if link.refused is not None:
                return False, f"refused: {link.refused}", True
            if link.last_error is not None:
                return False, f"unreachable: {link.last_error}", False
            await asyncio.sleep(0.05)
        return False, f"no answer within {timeout_s:g} s", False
    finally:
        await link.stop()


def _check(args: argparse.Namespace) -> int:
    cfg = _load(args)
    gw = cfg.gateway
    print(f"{args.config}: OK ({gw.gateway_id}, {gw.post_name}, district {gw.district})")
    print("pin map (BCM):")
    for pin, role, name in sorted(pin_map(gw)):
        print(f"  GPIO{pin:<3} {role:<16} {name}")
    link = _link(cfg, 30.0)
    print(f"credentials: read from {gw.broker.credentials.env or gw.broker.credentials.file}")
    if args.offline:
        return 0
    ok, detail, refused = asyncio.run(check_connection(link))
    print(f"broker {link.host}:{link.port} ({'TLS' if link.tls else 'plain'}): {detail}")
    if ok:
        return 0
    return EX_NOPERM if refused else EX_UNAVAILABLE


def _maintenance(args: argparse.Namespace) -> int:
    cfg = _load(args)
    _, meta, _ = open_state(cfg, StateSettings(path=Path(cfg.gateway.outbox.path)))
    if args.state == "on":
        meta.set(MAINTENANCE_KEY, str(time.time() + args.minutes * 60))
        print(f"maintenance on for {args.minutes:g} min: events go out as status=test")
    else:
        meta.delete(MAINTENANCE_KEY)
        print("maintenance off")
    return 0


def _press(args: argparse.Namespace) -> int:
    line = f"press {args.input}" + (f" {args.hold}" if args.hold is not None else "")
    try:
        print(asyncio.run(send_control(args.control, line)))
    except OSError as exc:
        print(f"cannot reach simulate at {args.control}: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    return 0


def _run(args: argparse.Namespace) -> int:
    cfg = _load(args)
    link = _link(cfg, args.reconnect_max)
    try:
        return asyncio.run(_run_daemon(cfg, link=link, factory=None, state=None))
    except EdgeError as exc:
        _LOGGER.critical("[%s/%s] %s", cfg.district, cfg.gateway_id, exc)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "press":
        return _press(args)
    _logging(getattr(args, "verbose", False))
    commands = {"check": _check, "maintenance": _maintenance, "run": _run, "fleet": fleetsim.run}
    if args.command in commands:
        return commands[args.command](args)
    return _simulate(args)


def _simulate(args: argparse.Namespace) -> int:
    cfg = _load(args)
    try:
        link = None if args.offline else _link(cfg, args.reconnect_max)
        state = None
        script = None
        if args.script is not None:
            script = args.script.read_text(encoding="utf-8").splitlines()
        if args.outbox is not None:
            state = StateSettings(path=args.outbox, capacity=cfg.gateway.outbox.max_events)
        with contextlib.closing(mock_pins()) as factory:
            return asyncio.run(
                _run_daemon(
                    cfg,
                    link=link,
                    factory=factory,
                    state=state,
                    console_script=script,
                    control=args.control,
                    interactive=args.script is None and args.control is None,
                )
            )
    except EdgeError as exc:
        _LOGGER.critical("[%s/%s] %s", cfg.district, cfg.gateway_id, exc)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
