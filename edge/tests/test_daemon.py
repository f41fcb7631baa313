"""The daemon built from files: reloading its configuration, its heartbeat, and maintenance
mode switched by a command from the command centre."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import yaml
from gpiozero.pins.mock import MockFactory
from kentongan_edge import config
from kentongan_edge.daemon import DaemonOptions, GatewayDaemon
from kentongan_edge.runtime import StateSettings, build_daemon, will_delay_s
from kentongan_protocol.payloads import Command, CommandAck, Event, Maintenance
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile


def write(tmp: Path, gw: Gateway, profile: EdgeProfile) -> Path:
    data = gw.model_dump(mode="json", exclude_none=True)
    data["broker"] = {
        "host": "127.0.0.1",
        "tls": False,
        "credentials": {"env": "KENTONGAN_TEST_PASSWORD"},
    }
    path = tmp / "gateway.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp / "profile.yaml").write_text(yaml.safe_dump(profile.model_dump(mode="json")))
    return path


def edit(path: Path, change: dict[str, object]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = data
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[last] = value
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


async def started(path: Path, tmp: Path) -> GatewayDaemon:
    d = build_daemon(
        config.load(path), state=StateSettings(path=tmp / "o.db"), link=None, factory=MockFactory()
    )
    await d.start()
    return d


def test_reload_applies_hold_times_and_restarts_for_new_wiring(
    tmp_path: Path, gateway: Gateway, profile: EdgeProfile
) -> None:
    path = write(tmp_path, gateway, profile)

    async def scenario() -> None:
        d = await started(path, tmp_path)
        edit(path, {"panic_buttons.0.hold_time_s": 0.3})  # was 1.5
        assert d.actions.reload()[0] == "done"
        d.hardware.drive("tombol_pencurian", True)
        await asyncio.sleep(0.45)
        d.hardware.drive("tombol_pencurian", False)
        assert [a.startswith("local:") for a in d.alarms.active()] == [True]
        edit(path, {"panic_buttons.0.pin": 4})  # a new wire needs new devices
        result, detail = d.actions.reload()
        assert (result, "restarting" in detail) == ("done", True)
        await asyncio.sleep(0.7)
        assert d.restart_requested
        await d.wait_stopped()

    asyncio.run(scenario())


def test_reload_after_refused_credentials_restarts_to_try_again(
    tmp_path: Path, gateway: Gateway, profile: EdgeProfile
) -> None:
    path = write(tmp_path, gateway, profile)

    async def scenario() -> None:
        d = await started(path, tmp_path)
        d.link_refused("not authorised (CONNACK 0x87)")
        result, detail = d.actions.reload()
        assert (result, "try again" in detail) == ("done", True)
        await asyncio.sleep(0.7)
        assert d.restart_requested
        await d.wait_stopped()

    asyncio.run(scenario())


def test_reload_refuses_a_broken_file_and_keeps_running(
    tmp_path: Path, gateway: Gateway, profile: EdgeProfile
) -> None:
    path = write(tmp_path, gateway, profile)

    async def scenario() -> None:
        d = await started(path, tmp_path)
        edit(path, {"panic_buttons.1.pin": 17})
        result, detail = d.actions.reload()
        assert result == "rejected"
        assert "GPIO17 is already used" in detail
        assert not d.restart_requested
        await d.stop()

    asyncio.run(scenario())


def test_heartbeat_reports_health_and_backlog(
    tmp_path: Path, gateway: Gateway, profile: EdgeProfile
) -> None:
    path = write(tmp_path, gateway, profile)

    async def scenario() -> None:
        d = await started(path, tmp_path)
        d.actions.panic_held("tombol_kebakaran", "kebakaran")
        beat = d.telemetry()
        assert beat.session_id == d.session_id
        assert beat.outbox_depth == 1
        assert beat.shed_count == 0
        assert beat.power == "mains"
        assert beat.disk_used_pct is not None
        await d.stop()

    asyncio.run(scenario())


def test_will_delay_keeps_offline_detection_within_20_s() -> None:
    for keepalive in range(5, 14):
        assert 1.5 * keepalive + will_delay_s(keepalive) <= 20
    assert will_delay_s(10) == 5


# --- maintenance switched by a command ---------------------------------------------------

BUTTON, TYPE = "tombol_kebakaran", "kebakaran"


def maintenance(on: bool, minutes: int | None = None) -> bytes:
    body = Maintenance(action="maintenance", on=on, minutes=minutes)
    return Command(command_id=uuid.uuid4(), body=body).encode()


class Post:
    """A daemon without a broker; its events and heartbeats stay in the outbox."""

    def __init__(self, d: GatewayDaemon, seen: list[Event]) -> None:
        self.d = d
        self.seen = seen

    def send(self, raw: bytes, expiry_s: int | None = 30) -> CommandAck:
        ack = self.d.commands.on_command(raw, expiry_s)
        assert ack is not None
        return ack

    def panic(self) -> Event:
        self.d.actions.panic_held(BUTTON, TYPE)
        return self.seen[-1]

    @property
    def heartbeats(self) -> int:
        return self.d.outbox.depth - self.d.outbox.event_depth


async def started_post(tmp: Path, gw: Gateway, profile: EdgeProfile) -> Post:
    seen: list[Event] = []
    d = build_daemon(
        config.load(write(tmp, gw, profile)),
        state=StateSettings(path=tmp / "o.db"),
        link=None,
        factory=MockFactory(),
        options=DaemonOptions(event_hooks=[seen.append]),
    )
    await d.start()
    return Post(d, seen)


def test_command_switches_maintenance_on_and_off(
    tmp_path: Path, gateway: Gateway, profile: EdgeProfile
) -> None:
    async def scenario() -> None:
        p = await started_post(tmp_path, gateway, profile)
        on = maintenance(True, 45)
        ack = p.send(on)
        assert (ack.result, ack.detail) == (
            "done",
            "maintenance on for 45 min: events go out as status=test",
        )
        assert p.d.in_maintenance()
        assert p.heartbeats == 1  # told the command centre at once
        beat = p.d.telemetry()
        assert beat.maintenance
        assert beat.maintenance_left_s is not None
        assert 45 * 60 - 5 <= beat.maintenance_left_s <= 45 * 60
        panic = p.panic()
        assert panic.status == "test"
        (key,) = p.d.alarms.active()
        await asyncio.sleep(3.3)  # only a chirp, not the fire pattern's minutes
        assert not p.d.alarms.is_active(key)

        assert p.send(on).result == "duplicate"  # redelivered: applied once
        off = p.send(maintenance(False))
        assert (off.result, off.detail) == ("done", "maintenance off")
        assert not p.d.in_maintenance()
        assert p.heartbeats == 2
        assert (p.d.telemetry().maintenance, p.d.telemetry().maintenance_left_s) == (False, None)
        assert p.panic().status == "actual"
        await p.d.stop()

    asyncio.run(scenario())


def test_expired_or_unbounded_maintenance_commands_change_nothing(
    tmp_path: Path, gateway: Gateway, profile: EdgeProfile
) -> None:
    async def scenario() -> None:
        p = await started_post(tmp_path, gateway, profile)
        assert p.send(maintenance(True, 30), expiry_s=0).result == "expired"
        assert p.send(maintenance(True, 30), expiry_s=None).result == "rejected"
        assert not p.d.in_maintenance()
        p.d.set_maintenance(30)  # switched on at the post
        assert p.send(maintenance(False), expiry_s=0).result == "expired"
        assert p.d.in_maintenance()
        bad = p.send(
            b'{"command_id": "%s", "body": {"action": "maintenance", "on": true}}'
            % str(uuid.uuid4()).encode()
        )
        assert bad.result == "rejected"
        assert "needs minutes" in str(bad.detail)
        assert p.d.in_maintenance()
        await p.d.stop()

    asyncio.run(scenario())
