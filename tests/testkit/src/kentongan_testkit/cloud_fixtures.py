"""Fixtures for the cloud: databases (SQLite file and a throw-away PostgreSQL database) and
a running cloud in-process.

PostgreSQL is one private cluster for the whole session (see `pgserver`), or the server that
KENTONGAN_TEST_POSTGRES names; each test session creates a database with a random name on it
and drops it at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from kentongan_cloud.clock import Clock
from kentongan_cloud.outbox.worker import Sinks
from kentongan_cloud.settings import Settings
from kentongan_protocol.provisioning.tree import Provisioning

from kentongan_testkit.cloudharness import CloudHarness, Recorders
from kentongan_testkit.pgserver import ENV_VAR, PgServer, PostgresUnavailableError, PrivatePostgres

DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server: private unless KENTONGAN_TEST_POSTGRES names one."""
    external = os.environ.get(ENV_VAR)
    with ExitStack() as stack:
        try:
            if external:
                server = PgServer.from_url(external)
            else:
                server = stack.enter_context(PrivatePostgres()).server
        except PostgresUnavailableError as exc:
            problem = str(exc)
        else:
            yield server
            return
    pytest.fail(problem, pytrace=False)  # a failure, not a skip: CI must not pass without it


@pytest.fixture(scope="session")
def postgres_database(postgres_server: PgServer) -> Iterator[str]:
    """Name of a fresh PostgreSQL database for this test session."""
    name = postgres_server.create_database(f"kentongan_test_{secrets.token_hex(6)}")
    yield name
    postgres_server.drop_database(name)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind, as a SQLAlchemy URL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'kentongan.db'}"
    server: PgServer = request.getfixturevalue("postgres_server")
    name = request.getfixturevalue("postgres_database")
    with server.connect(name) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return server.url(name)


class CloudFactory:
    """Starts clouds for one test (and stops whatever is still running at the end)."""

    def __init__(self, request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> None:
        self.request = request
        self.db_url = db_url
        self.tmp_path = tmp_path
        self.started: list[CloudHarness] = []

    def settings(
        self, *, mqtt: bool = True, mqtt_overrides: dict[str, Any] | None = None, **overrides: Any
    ) -> Settings:
        env: dict[str, Any] = {
            "config_dir": self.request.getfixturevalue("config_tree"),
            "data_dir": self.tmp_path / "cloud-data",
            "database": {"url": self.db_url},
            "fleet": {"sweep_interval_s": 0.5},
            "outbox": {"poll_interval_s": 0.2},
        }
        if mqtt:
            broker = self.request.getfixturevalue("broker")
            store = self.request.getfixturevalue("secrets_store")
            env["mqtt"] = {"port": broker.port, "password": store.get_or_create("cloud")}
            env["mqtt"] |= mqtt_overrides or {}
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(env.get(key), dict):
                env[key] = env[key] | value
            else:
                env[key] = value
        return Settings(**env)

    def start(
        self,
        *,
        mqtt: bool = True,
        outbox: bool = True,
        sweeper: bool = True,
        clock: Clock | None = None,
        recorders: Recorders | None = None,
        provisioning: Provisioning | None = None,
        mqtt_overrides: dict[str, Any] | None = None,
        real_sinks: bool = False,
        **overrides: Any,
    ) -> CloudHarness:
        """Without `recorders`, the outbox delivers only commands, unless `real_sinks`: then
        the cloud builds its responders, InfluxDB and Grafana sinks from the settings."""
        sinks = recorders.sinks() if recorders else None if real_sinks else Sinks()
        h = CloudHarness(
            self.settings(mqtt=mqtt, mqtt_overrides=mqtt_overrides, **overrides),
            provisioning or self.request.getfixturevalue("provisioning"),
            clock=clock,
            sinks=sinks,
            mqtt=mqtt,
            outbox=outbox,
            sweeper=sweeper,
        )
        self.started.append(h)
        return h.start()

    def close(self) -> None:
        for h in self.started:
            h.stop()


@pytest.fixture
def cloud(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[CloudFactory]:
    """Start the cloud in-process: `cloud.start(mqtt=..., clock=..., recorders=...)`."""
    factory = CloudFactory(request, db_url, tmp_path)
    yield factory
    factory.close()
