"""Generated documents stay in step with the models: regenerate when a test here fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kentongan_protocol import asyncapi
from kentongan_protocol.provisioning.broker import BrokerLayout, render_acl, render_conf
from kentongan_protocol.provisioning.schema import SCHEMA_DIR, render_schemas
from kentongan_protocol.provisioning.tree import load_tree

REPO = Path(__file__).resolve().parents[2]


def test_asyncapi_document_matches_models() -> None:
    committed = (REPO / "protocol" / "asyncapi.json").read_text()
    assert committed == asyncapi.render(), (
        "protocol/asyncapi.json is stale: python -m kentongan_protocol.asyncapi > "
        "protocol/asyncapi.json"
    )


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_asyncapi_references_resolve() -> None:
    doc = asyncapi.build_document()
    assert doc["asyncapi"] == "3.0.0"
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert node, ref
    addresses = {c["address"] for c in doc["channels"].values()}
    assert "kentongan/v1/{district}/{gateway}/event/ack" in addresses
    assert "kentongan/v1/{district}/broadcast/cmd" in addresses


def test_json_schemas_match_models() -> None:
    for name, text in render_schemas().items():
        path = REPO / "firmware_configs" / SCHEMA_DIR / name
        assert path.read_text() == text, (
            f"{path} is stale: kentongan-provision schema firmware_configs"
        )
        json.loads(text)


def test_committed_broker_config_matches_provisioning() -> None:
    prov = load_tree(REPO / "firmware_configs")
    hint = "regenerate with: kentongan-provision broker"
    assert (REPO / "broker" / "mosquitto.conf").read_text() == render_conf(BrokerLayout()), hint
    assert (REPO / "broker" / "acl").read_text() == render_acl(prov), hint
