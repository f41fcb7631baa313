"""The systemd unit the technician installs, and the notify protocol it relies on."""

from __future__ import annotations

import shlex
import socket
from configparser import ConfigParser
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from kentongan_edge.cli import _parser, main
from kentongan_edge.errors import EX_CONFIG
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile


def unit() -> ConfigParser:
    text = (files("kentongan_edge") / "systemd" / "kentongan-edge.service").read_text()
    parser = ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_unit_restarts_except_on_bad_config_and_watches_the_loop() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "always"
    assert service["RestartPreventExitStatus"] == str(EX_CONFIG)
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("kentongan-edge")
    args = _parser().parse_args(argv[1:])  # the unit's command line is one the CLI takes
    assert (args.command, args.config, args.profile) == (
        "run",
        Path("/etc/kentongan/gateway.yaml"),
        Path("/etc/kentongan/profile.yaml"),
    )


def test_ready_and_watchdog_reach_systemd(
    tmp_path: Path,
    gateway: Gateway,
    profile: EdgeProfile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = gateway.model_dump(mode="json", exclude_none=True)
    data["broker"] = {"host": "127.0.0.1", "tls": False, "credentials": {"env": "KENTONGAN_X"}}
    data["outbox"] = {"path": str(tmp_path / "outbox.db")}
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "profile.yaml").write_text(yaml.safe_dump(profile.model_dump(mode="json")))
    (tmp_path / "script").write_text("wait 0.3\nquit\n")
    sock_path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(sock_path))
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
        monkeypatch.setenv("WATCHDOG_USEC", "200000")  # ping every 0.1 s
        config = str(tmp_path / "gateway.yaml")
        assert (
            main(
                ["simulate", "--offline", "--config", config, "--script", str(tmp_path / "script")]
            )
            == 0
        )
        got = []
        while True:
            try:
                got.append(sock.recv(100).decode())
            except TimeoutError:
                break
            if got[-1] == "STOPPING=1":
                break
    assert got[0] == "READY=1"
    assert "WATCHDOG=1" in got
    assert got[-1] == "STOPPING=1"
