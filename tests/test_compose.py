"""docker-compose.yml and .env.example: the file validates with Debian's docker-compose, every
variable it reads is listed in the example, the example's values are refused as placeholders,
and the cloud and worker services get settings the cloud accepts (one broker account each).
The deployment's shape is in test_compose_deployment.py."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from kentongan_cloud.errors import ConfigError
from kentongan_cloud.settings import load_settings
from kentongan_testkit.compose import COMPOSE, EXAMPLE, example_values, real_values, resolved
from kentongan_testkit.dashboards import REPO


def commented_example_names() -> set[str]:
    text = EXAMPLE.read_text(encoding="utf-8")
    return set(re.findall(r"^# (KENTONGAN_[A-Z0-9_]+)=", text, re.MULTILINE))


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
    doc = resolved(tmp_path, real_values())
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
