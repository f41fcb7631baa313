"""docker-compose.yml and .env.example: the file validates with Debian's docker-compose, every
variable it reads is listed in the example, the example's values are refused as placeholders,
and the cloud and worker services get settings the cloud accepts (one broker account each)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kentongan_cloud.errors import ConfigError
from kentongan_cloud.settings import load_settings
from kentongan_testkit.dashboards import REPO

COMPOSE = REPO / "docker-compose.yml"
EXAMPLE = REPO / ".env.example"


def example_values() -> dict[str, str]:
    out = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def commented_example_names() -> set[str]:
    text = EXAMPLE.read_text(encoding="utf-8")
    return set(re.findall(r"^# (KENTONGAN_[A-Z0-9_]+)=", text, re.MULTILINE))


def resolved(tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    """`docker-compose config` of the repository's file with `env` as its .env."""
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    shutil.copyfile(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    done = subprocess.run(
        [exe, "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = yaml.safe_load(done.stdout)
    return doc


def test_every_variable_the_compose_file_reads_is_in_the_example() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text(encoding="utf-8")))
    assert used
    assert used <= set(example_values()), used - set(example_values())
    # The webhook secrets the district file names are there too.
    district = (REPO / "firmware_configs" / "district.yaml").read_text(encoding="utf-8")
    named = set(re.findall(r"secret_env:\s*([A-Z0-9_]+)", district))
    assert named <= set(example_values()), named - set(example_values())
    # Every responders' provider variable is a real setting (prefixed, nested).
    for name in commented_example_names():
        assert name.startswith("KENTONGAN_RESPONDERS__"), name


def test_compose_validates_and_the_services_settings_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def real(key: str, value: str) -> str:
        return f"real-{key.lower()}-0123456789abcdef" if value.startswith("replace") else value

    real_env = {k: real(k, v) for k, v in example_values().items()}
    doc = resolved(tmp_path, real_env)
    services = doc["services"]
    assert {"broker", "postgres", "influxdb", "grafana", "cloud", "worker"} <= set(services)
    accounts = []
    for name in ("cloud", "worker"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        for key in [k for k in os.environ if k.startswith("KENTONGAN_")]:
            monkeypatch.delenv(key)  # only what the container gets
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        s = load_settings()
        assert s.mode == "production"
        assert s.database_url.startswith("postgresql+psycopg://kentongan:")
        assert s.influx.url == "http://influxdb:8086"
        assert s.grafana.url is None  # until a service account token is set
        assert s.responders is not None
        assert s.responders.public_url == "https://kentongan.example.id"
        accounts.append(s.mqtt.username)
    assert accounts == ["cloud-1", "cloud-2"]
    assert services["worker"]["command"] == ["kentongan-cloud", "worker"]
    # The broker's generated ACL has both accounts.
    acl = (REPO / "broker" / "acl").read_text(encoding="utf-8")
    assert "user cloud-1\n" in acl
    assert "user cloud-2\n" in acl


def test_the_example_values_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = resolved(tmp_path, example_values())
    env = {k: str(v) for k, v in doc["services"]["cloud"]["environment"].items()}
    for key in [k for k in os.environ if k.startswith("KENTONGAN_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "is a placeholder" in str(err.value)
