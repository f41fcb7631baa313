"""Settings from the environment, placeholder secrets refused in production, and the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from kentongan_cloud.cli import main
from kentongan_cloud.errors import ConfigError
from kentongan_cloud.settings import load_settings
from kentongan_protocol.provisioning.broker_process import free_port

from .conftest import PASSWORD


def test_local_mode_runs_on_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("KENTONGAN_"):
            monkeypatch.delenv(key)
    s = load_settings()
    assert s.mode == "local"
    assert s.database_url == "sqlite+aiosqlite:///var/kentongan.db"
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.share_group) == ("127.0.0.1", 1883, "cloud")
    assert not s.cookie_secure


def test_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENTONGAN_MQTT__PORT", "18830")
    monkeypatch.setenv("KENTONGAN_FLEET__OFFLINE_ALERT_AFTER_MIN", "15")
    s = load_settings()
    assert s.mqtt.port == 18830
    assert s.fleet.offline_alert_after_min == 15


def test_production_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENTONGAN_MODE", "production")
    monkeypatch.setenv("KENTONGAN_MQTT__PASSWORD", "a-real-broker-secret")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == (
        "invalid settings: Value error, KENTONGAN_SECRET_KEY is a placeholder or shorter "
        "than 12 characters; set a real secret"
    )


def test_production_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENTONGAN_MODE", "production")
    monkeypatch.setenv("KENTONGAN_MQTT__PASSWORD", "a-real-broker-secret")
    monkeypatch.setenv("KENTONGAN_SECRET_KEY", "another-real-secret")
    s = load_settings()
    assert s.cookie_secure
    assert "a-real-broker-secret" not in repr(s)


def test_a_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENTONGAN_MQTT__PORT", "seventy")
    with pytest.raises(ConfigError, match="KENTONGAN_MQTT__PORT: Input should be a valid integer"):
        load_settings()


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "worker", "create-user", "init-db"):
        assert command in out


def test_cli_exits_78_on_bad_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KENTONGAN_MODE", "production")
    assert main(["init-db"]) == 78
    assert "KENTONGAN_SECRET_KEY is a placeholder" in capsys.readouterr().err


def test_cli_create_user_then_serve_and_log_in(
    db_url: str, config_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "KENTONGAN_DATABASE__URL": db_url,
        "KENTONGAN_CONFIG_DIR": str(config_tree),
        "KENTONGAN_DATA_DIR": str(tmp_path / "data"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["init-db"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["create-user", "sari", "--role", "supervisor", "--password-stdin"]) == 0
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kentongan_cloud.cli", "serve", "--no-worker", "--port", str(port)],
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        r = httpx.post(f"{url}/api/v1/auth/login", json={"username": "sari", "password": PASSWORD})
        assert (r.status_code, r.json()["role"]) == (200, "supervisor")
        fleet = httpx.get(
            f"{url}/api/v1/fleet", headers={"Authorization": f"Bearer {r.json()['token']}"}
        ).json()
        assert len(fleet) == 15
    finally:
        proc.terminate()
        proc.wait(10)
