"""The command line: help for every command, `check` lists the pin map, `simulate` runs the
real daemon on mock pins from a script."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kentongan_edge.cli import main
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile


@pytest.fixture
def files(tmp_path: Path, gateway: Gateway, profile: EdgeProfile) -> Path:
    data = gateway.model_dump(mode="json", exclude_none=True)
    data["broker"] = {
        "host": "127.0.0.1",
        "port": 1,
        "tls": False,
        "credentials": {"env": "KENTONGAN_TEST_PASSWORD"},
    }
    data["outbox"] = {"path": str(tmp_path / "state" / "outbox.db")}
    for b in data["panic_buttons"]:
        b["hold_time_s"] = 0.2
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "profile.yaml").write_text(
        yaml.safe_dump(profile.model_dump(mode="json")), encoding="utf-8"
    )
    return config


@pytest.mark.parametrize("command", ["run", "check", "simulate", "press", "maintenance"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "usage: kentongan-edge" in capsys.readouterr().out


def test_check_lists_the_pin_map(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KENTONGAN_TEST_PASSWORD", "x")
    assert main(["check", "--offline", "--config", str(files)]) == 0
    out = capsys.readouterr().out
    assert "GPIO17  panic            tombol_pencurian" in out
    assert "GPIO11  mcp3008 SCLK" in out


def test_check_reports_an_unreachable_broker(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KENTONGAN_TEST_PASSWORD", "x")
    assert main(["check", "--config", str(files)]) == 69
    assert "unreachable" in capsys.readouterr().out


def test_simulate_runs_a_script_on_mock_pins(
    files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "latihan.txt"
    script.write_text(
        "# a guard raises a fire alarm, then the duty check-in\n"
        "press tombol_kebakaran 0.3\n"
        "press tombol_piket\n"
        "status\n"
        "press tombol_tidak_ada\n"
        "quit\n",
        encoding="utf-8",
    )
    assert main(["simulate", "--offline", "--config", str(files), "--script", str(script)]) == 0
    out = capsys.readouterr().out
    assert "[event] panic tombol_kebakaran kebakaran status=actual" in out
    assert "[event] duty_check_in tombol_piket" in out
    assert "[alarms] local:" in out
    assert "outbox 2 held" in out
    assert "error: no input 'tombol_tidak_ada'" in out
    # The events survive in the outbox named by the gateway file.
    assert (tmp_path / "state" / "outbox.db").exists()


def test_maintenance_switch(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maintenance", "on", "--minutes", "5", "--config", str(files)]) == 0
    assert "status=test" in capsys.readouterr().out
    assert main(["maintenance", "off", "--config", str(files)]) == 0
