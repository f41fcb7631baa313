"""Configuration errors point at file and line, and stop the daemon with exit code 78."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from kentongan_edge import config
from kentongan_edge.cli import main
from kentongan_edge.errors import EX_CONFIG, ConfigError, CredentialsError
from kentongan_protocol.provisioning.profile import EdgeProfile

INVALID = Path(__file__).parent / "invalid"
VALID = Path(__file__).parent / "invalid" / "pin_used_twice.yaml"


@pytest.fixture
def profile_file(tmp_path: Path, profile: EdgeProfile) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile.model_dump(mode="json")), encoding="utf-8")
    return path


def expectation(path: Path) -> tuple[int, str, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    line, key, message = first.removeprefix("# expect: ").split(" ", 2)
    return int(line), key, message


@pytest.mark.parametrize("bad", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_mistake_is_pointed_at(
    bad: Path, profile_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line, key, message = expectation(bad)
    with pytest.raises(SystemExit) as exited:
        main(["check", "--offline", "--config", str(bad), "--profile", str(profile_file)])
    assert exited.value.code == EX_CONFIG
    err = capsys.readouterr().err
    assert f"{bad}:{line}: {key}: {message}" in err


def valid_yaml(tmp_path: Path, **broker: object) -> Path:
    data = yaml.safe_load(VALID.read_text(encoding="utf-8"))
    data["panic_buttons"][1]["pin"] = 27
    data["broker"].update(broker)
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_valid_file_loads_with_its_hash(tmp_path: Path, profile_file: Path) -> None:
    cfg = config.load(valid_yaml(tmp_path), profile_file)
    assert cfg.gateway_id == "gs-buyut-udik-01"
    assert len(cfg.config_hash) == 64
    # The profile is found beside the gateway file by default.
    assert config.load(cfg.gateway_path or Path(), None).profile == cfg.profile


def test_password_from_environment(
    tmp_path: Path, profile_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config.load(valid_yaml(tmp_path), profile_file)
    monkeypatch.delenv("KENTONGAN_MQTT_PASSWORD", raising=False)
    with pytest.raises(CredentialsError, match="KENTONGAN_MQTT_PASSWORD is not set"):
        config.read_password(cfg.gateway)
    monkeypatch.setenv("KENTONGAN_MQTT_PASSWORD", " rahasia \n")
    assert config.read_password(cfg.gateway) == "rahasia"


def test_password_file_must_be_private(tmp_path: Path, profile_file: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("rahasia\n")
    os.chmod(secret, 0o644)
    cfg = config.load(valid_yaml(tmp_path, credentials={"file": str(secret)}), profile_file)
    with pytest.raises(CredentialsError, match="chmod 600"):
        config.read_password(cfg.gateway)
    os.chmod(secret, 0o600)
    assert config.read_password(cfg.gateway) == "rahasia"


def test_bad_credentials_source_exits_78(
    tmp_path: Path, profile_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = valid_yaml(tmp_path, credentials={"file": str(tmp_path / "missing")})
    with pytest.raises(SystemExit) as exited:
        main(["check", "--offline", "--config", str(path), "--profile", str(profile_file)])
    assert exited.value.code == EX_CONFIG
    assert "broker.credentials" in capsys.readouterr().err


def test_profile_must_match(tmp_path: Path, profile: EdgeProfile) -> None:
    other = profile.model_copy(update={"district": "metro"})
    p = tmp_path / "profile.yaml"
    p.write_text(yaml.safe_dump(other.model_dump(mode="json")), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load(valid_yaml(tmp_path), p)
    assert "but the profile is 'metro'" in str(err.value.problems[0])
