"""JSON Schemas for editors (YAML language servers), generated from the models."""

from __future__ import annotations

import json
from pathlib import Path

from kentongan_protocol.provisioning.district import District
from kentongan_protocol.provisioning.gateway import Gateway

SCHEMA_DIR = "schema"


def render_schemas() -> dict[str, str]:
    """File name → JSON text, stable so a test can spot drift."""
    out = {}
    for name, model in (("district", District), ("gateway", Gateway)):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://kentongan.example.id/schema/{name}.schema.json"
        out[f"{name}.schema.json"] = (
            json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
    return out


def write_schemas(config_root: Path) -> list[Path]:
    directory = config_root / SCHEMA_DIR
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)
    return written
