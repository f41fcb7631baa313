"""Fixtures of the edge unit tests: the sample district, loaded once, and models from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.tree import Provisioning, load_tree

SAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs"
FULL_GATEWAY = "gs-buyut-udik-01"  # every kind of input: buttons, supervision, float, MCP3008


@pytest.fixture(scope="session")
def sample_district() -> Provisioning:
    return load_tree(SAMPLE)


@pytest.fixture(scope="session")
def profile(sample_district: Provisioning) -> EdgeProfile:
    return EdgeProfile.from_district(sample_district.district)


@pytest.fixture
def gateway(sample_district: Provisioning) -> Gateway:
    return sample_district.gateways[FULL_GATEWAY].gateway
