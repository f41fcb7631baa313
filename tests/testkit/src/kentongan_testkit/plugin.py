"""Pytest plugin: fixtures that start real servers on free 127.0.0.1 ports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from hypothesis import HealthCheck, settings
from kentongan_protocol.provisioning.broker_process import MosquittoProcess, mosquitto_binary
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning, load_tree

from kentongan_testkit.mqtt import MqttTestClient

# The cloud's fixtures (databases, an in-process cloud) live in their own module.
pytest_plugins = ["kentongan_testkit.cloud_fixtures"]

# The machine is shared and noisy: time-based health checks and deadlines would flake.
settings.register_profile(
    "kentongan", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.load_profile("kentongan")

REPO = Path(__file__).resolve().parents[4]
SAMPLE_CONFIG = REPO / "firmware_configs"


class ClientFactory(Protocol):
    """Makes connected test clients for an account of the broker fixture."""

    def __call__(
        self,
        username: str,
        password: str | None = None,
        *,
        connect: bool = True,
        clean_start: bool = True,
        session_expiry_s: int = 0,
        client_id: str | None = None,
    ) -> MqttTestClient: ...


@pytest.fixture
def config_tree(tmp_path: Path) -> Path:
    """A private copy of the sample district, free to modify."""
    dest = tmp_path / "firmware_configs"
    shutil.copytree(SAMPLE_CONFIG, dest)
    return dest


@pytest.fixture
def provisioning(config_tree: Path) -> Provisioning:
    return load_tree(config_tree)


@pytest.fixture
def secrets_store(tmp_path: Path) -> SecretStore:
    return SecretStore(tmp_path / "secrets")


@pytest.fixture
def broker(provisioning: Provisioning, secrets_store: SecretStore) -> Iterator[MosquittoProcess]:
    """Debian's mosquitto with the generated config, password file and ACL."""
    mosquitto_binary()  # fails with the install command when missing
    proc = MosquittoProcess(provisioning, secrets_store).start()
    yield proc
    proc.stop()
    shutil.rmtree(proc.workdir, ignore_errors=True)


@pytest.fixture
def mqtt_client(broker: MosquittoProcess, secrets_store: SecretStore) -> Iterator[ClientFactory]:
    """Factory of MQTT clients logged in as a provisioned account (password from the store)."""
    made: list[MqttTestClient] = []

    def make(
        username: str,
        password: str | None = None,
        *,
        connect: bool = True,
        clean_start: bool = True,
        session_expiry_s: int = 0,
        client_id: str | None = None,
    ) -> MqttTestClient:
        pw = password if password is not None else secrets_store.get_or_create(username)
        c = MqttTestClient(
            broker.port,
            username,
            pw,
            clean_start=clean_start,
            session_expiry_s=session_expiry_s,
            client_id=client_id,
        )
        made.append(c)
        if connect:
            rc = c.connect()
            assert not rc.is_failure, f"{username} refused: {rc}"
        return c

    yield make
    for c in made:
        c.disconnect()
