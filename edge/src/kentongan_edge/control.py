"""`simulate`'s console: a person (keyboard), a script or `kentongan-edge press` drives the
mock pins of a running daemon with one-line commands."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path

from kentongan_edge.daemon import GatewayDaemon
from kentongan_edge.virtual import PRESS_MARGIN_S

HELP = """\
press INPUT [SECONDS]   press a button (default: its hold time plus a little), then release
down INPUT | up INPUT   hold an input active / let it go (sensors, mains, tamper, buttons)
level INPUT VALUE       put an analog input at VALUE (0..1)
wait SECONDS            pause (scripts)
maintenance MINUTES     events go out as status=test for MINUTES (0 ends it)
status                  link, outbox, alarms, duty
help | quit"""


class Console:
    """Executes console lines against one daemon (on its loop)."""

    def __init__(self, daemon: GatewayDaemon) -> None:
        self.d = daemon
        self.quit = asyncio.Event()

    def _hold_of(self, name: str) -> float:
        gw = self.d.cfg.gateway
        holds = {b.input: b.hold_time_s for b in gw.panic_buttons}
        for plain in (gw.cancel_button, gw.duty_button):
            if plain is not None:
                holds[plain.input] = plain.hold_time_s
        return holds.get(name, 0.5) + PRESS_MARGIN_S

    def status(self) -> str:
        d = self.d
        link = "no broker" if d.link is None else "online" if d.link.connected else "offline"
        if d.refused:
            link = f"REFUSED ({d.refused})"
        return (
            f"{d.cfg.gateway_id}: {link}; outbox {d.outbox.depth} held, "
            f"{d.outbox.shed_count} shed; alarms {d.alarms.active() or 'none'}; "
            f"on duty: {d.actions.on_duty}; maintenance: {d.in_maintenance()}"
        )

    async def execute(self, line: str) -> str:
        """Run one console line; the answer is for the person or script that sent it."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            return f"error: {exc}"
        if not words or words[0].startswith("#"):
            return ""
        handler = self._handlers().get((words[0].lower(), len(words) - 1))
        if handler is None:
            return HELP
        try:
            return await handler(*words[1:])
        except KeyError as exc:
            names = ", ".join(self.d.hardware.input_names())
            return f"error: no input {exc} on this gateway (inputs: {names})"
        except ValueError as exc:
            return f"error: {exc}"

    def _handlers(self) -> dict[tuple[str, int], Callable[..., Awaitable[str]]]:
        return {
            ("press", 1): self._press,
            ("press", 2): self._press,
            ("down", 1): self._down,
            ("up", 1): self._up,
            ("level", 2): self._level,
            ("wait", 1): self._wait,
            ("maintenance", 1): self._maintenance,
            ("status", 0): self._status,
            ("quit", 0): self._quit,
        }

    async def _press(self, name: str, seconds: str | None = None) -> str:
        hold = float(seconds) if seconds is not None else self._hold_of(name)
        hw = self.d.hardware
        hw.drive(name, True)
        await asyncio.sleep(hold)
        hw.drive(name, False)
        return f"pressed {name} for {hold:.2f} s"

    async def _down(self, name: str) -> str:
        self.d.hardware.drive(name, True)
        return f"{name} active"

    async def _up(self, name: str) -> str:
        self.d.hardware.drive(name, False)
        return f"{name} idle"

    async def _level(self, name: str, value: str) -> str:
        self.d.hardware.set_level(name, float(value))
        return f"{name} at {float(value):.3f}"

    async def _wait(self, seconds: str) -> str:
        await asyncio.sleep(float(seconds))
        return ""

    async def _maintenance(self, minutes: str) -> str:
        self.d.set_maintenance(float(minutes))
        return f"maintenance {'on' if float(minutes) > 0 else 'off'}"

    async def _status(self) -> str:
        return self.status()

    async def _quit(self) -> str:
        self.quit.set()
        return "bye"


async def serve_control(console: Console, path: Path) -> asyncio.Server:
    """A Unix socket taking one command per connection (`kentongan-edge press`)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a stale socket of an earlier run

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode("utf-8", "replace").strip()
            reply = await console.execute(line)
            writer.write((reply + "\n").encode())
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_unix_server(handle, path=str(path))
    os.chmod(path, 0o600)
    return server


async def send_control(path: Path, line: str) -> str:
    """Send one console line to a running `simulate` and return its answer."""
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write((line.strip() + "\n").encode())
    await writer.drain()
    reply = await reader.read()
    writer.close()
    return reply.decode("utf-8", "replace").strip()
