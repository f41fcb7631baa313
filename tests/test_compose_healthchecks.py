"""The compose healthchecks' own commands, run here: the cloud's asks a real served cloud's
/health; the worker's follows a real MQTT connection to the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kentongan_protocol.provisioning.broker_process import MosquittoProcess, free_port
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.compose import real_values, resolved
from kentongan_testkit.plugin import ClientFactory
from kentongan_testkit.served import serve

IN_CONTAINER = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Service -> the Python code of its healthcheck."""
    services: dict[str, Any] = resolved(tmp_path_factory.mktemp("compose"), real_values())[
        "services"
    ]
    return {name: services[name]["healthcheck"]["test"][3] for name in ("cloud", "worker")}


def run_check(code: str, env: dict[str, str] | None = None) -> int:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=os.environ | (env or {}),
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode


@pytest.fixture
def served_cloud(cloud: CloudFactory) -> Iterator[str]:
    with serve(cloud.start(mqtt=False, outbox=False, sweeper=False)) as url:
        yield url


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cloud_check_asks_health(checks: dict[str, str], served_cloud: str) -> None:
    code = checks["cloud"]
    assert IN_CONTAINER + "/health" in code
    assert run_check(code.replace(IN_CONTAINER, served_cloud)) == 0
    nobody = f"http://127.0.0.1:{free_port()}"
    assert run_check(code.replace(IN_CONTAINER, nobody)) != 0


def test_the_worker_check_follows_its_broker_connection(
    checks: dict[str, str],
    broker: MosquittoProcess,
    mqtt_client: ClientFactory,
) -> None:
    env = {"KENTONGAN_MQTT__PORT": str(broker.port)}
    code = checks["worker"]
    assert run_check(code, env) == 1
    client = mqtt_client("cloud-2")
    assert run_check(code, env) == 0
    client.disconnect()
    assert run_check(code, env) == 1
