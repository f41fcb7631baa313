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


def _production(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("KENTONGAN_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KENTONGAN_MODE", "production")
    monkeypatch.setenv("KENTONGAN_MQTT__PASSWORD", "a-real-broker-secret")
    monkeypatch.setenv("KENTONGAN_SECRET_KEY", "another-real-secret")


def test_sinks_sections_from_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch)
    monkeypatch.setenv("KENTONGAN_INFLUX__URL", "http://influxdb:8086")
    monkeypatch.setenv("KENTONGAN_INFLUX__TOKEN", "influx-token-of-this-district")
    monkeypatch.setenv("KENTONGAN_INFLUX__SPOOL_PATH", "/var/lib/kentongan/spool.db")
    monkeypatch.setenv("KENTONGAN_GRAFANA__URL", "http://grafana:3000")
    monkeypatch.setenv("KENTONGAN_GRAFANA__TOKEN", "glsa_service_account_token")
    monkeypatch.setenv("KENTONGAN_RESPONDERS__PUBLIC_URL", "https://kentongan.example.id")
    monkeypatch.setenv("KENTONGAN_RESPONDERS__ACK_SECRET", "r" * 40)
    monkeypatch.setenv("KENTONGAN_RESPONDERS__TELEGRAM__BOT_TOKEN", "123:telegram-bot-token")
    s = load_settings()
    assert (s.influx.url, s.influx.org, s.influx.bucket) == (
        "http://influxdb:8086",
        "kentongan",
        "kentongan",
    )
    assert s.influx.spool_path == Path("/var/lib/kentongan/spool.db")
    assert s.grafana.url == "http://grafana:3000"
    assert s.responders is not None
    assert s.responders.public_url == "https://kentongan.example.id"
    assert s.responders.telegram is not None
    assert not s.responders.local_mode


def test_production_has_no_responders_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch)
    assert load_settings().responders is None


def test_local_mode_responders_answer_links_on_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in list(os.environ):
        if key.startswith("KENTONGAN_"):
            monkeypatch.delenv(key)
    s = load_settings()
    assert s.responders is not None
    assert (s.responders.public_url, s.responders.local_mode) == ("http://127.0.0.1:8080", True)


@pytest.mark.parametrize(
    ("variables", "detail"),
    [
        (
            {"KENTONGAN_RESPONDERS__ACK_SECRET": "change-me"},
            "ack_secret must be a random string of at least 32 characters outside local mode",
        ),
        (
            {"KENTONGAN_RESPONDERS__ACK_SECRET": "r" * 40, "KENTONGAN_RESPONDERS__LOCAL_MODE": "1"},
            "KENTONGAN_RESPONDERS__LOCAL_MODE is for local mode only",
        ),
        (
            {"KENTONGAN_INFLUX__URL": "http://influxdb:8086"},
            "KENTONGAN_INFLUX__TOKEN is a placeholder",
        ),
        (
            {"KENTONGAN_GRAFANA__URL": "http://grafana:3000"},
            "KENTONGAN_GRAFANA__TOKEN is a placeholder",
        ),
    ],
)
def test_production_refuses_placeholders_of_the_sinks(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], detail: str
) -> None:
    _production(monkeypatch)
    monkeypatch.setenv("KENTONGAN_RESPONDERS__PUBLIC_URL", "https://kentongan.example.id")
    monkeypatch.setenv("KENTONGAN_RESPONDERS__ACK_SECRET", "r" * 40)
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert detail in str(err.value)


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
        # The responders' routes are mounted (local mode): a forged link is refused.
        forged = httpx.get(f"{url}/t/not-a-signed-link")
        assert forged.status_code == 403
        assert "Tautan tidak sah" in forged.text
    finally:
        proc.terminate()
        proc.wait(10)
