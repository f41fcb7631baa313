"""Helpers for the cloud's API tests: a cloud without MQTT, and logged-in callers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kentongan_cloud.api.auth import hash_password
from kentongan_cloud.domain.sites import Directory, build_directory
from kentongan_cloud.records import UserRecord
from kentongan_cloud.store.db import Tx
from kentongan_testkit.bench.district import generate_district
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness

PASSWORD = "kentongan-rahasia"
Login = Callable[..., str]


@pytest.fixture
def api(cloud: CloudFactory) -> CloudHarness:
    """The cloud with its API, HTTP intake and database; no broker."""
    return cloud.start(mqtt=False, outbox=False, sweeper=False)


def add_user(
    h: CloudHarness, name: str, role: str, gateway: str | None = None, agency: str | None = None
) -> None:
    async def add(tx: Tx) -> None:
        await tx.users.upsert(
            UserRecord(name, hash_password(PASSWORD), role, gateway, True, agency),
            datetime.now(UTC),
        )

    h.db(add)


@pytest.fixture
def login(api: CloudHarness) -> Login:
    """`login(role, gateway=None, agency=None, name=role)` creates a user of that role and
    returns a bearer token."""

    def make(
        role: str, gateway: str | None = None, agency: str | None = None, name: str = ""
    ) -> str:
        name = name or role
        add_user(api, name, role, gateway, agency)
        r = api.api("POST", "/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    return make


@pytest.fixture(scope="module")
def generated_district(tmp_path_factory: pytest.TempPathFactory) -> Directory:
    """A generated district of 400 posts on rings around each kampung (as the bench uses)."""
    sample = Path(__file__).resolve().parents[2] / "firmware_configs"
    return build_directory(generate_district(sample, tmp_path_factory.mktemp("d") / "d", 400))
