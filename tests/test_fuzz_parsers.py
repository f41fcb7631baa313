"""Hypothesis against the parsers that read untrusted bytes: the wire payload decoder and the
provisioning YAML reader. Whatever comes in, they answer with our errors, never a crash."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kentongan_protocol import payloads
from kentongan_protocol.errors import PayloadError
from kentongan_protocol.provisioning.district import District
from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.yamlsrc import read_yaml, validate_model
from kentongan_testkit.plugin import SAMPLE_CONFIG

MODELS: list[type[payloads.Payload]] = [
    payloads.GatewayState,
    payloads.Event,
    payloads.EventAck,
    payloads.Telemetry,
    payloads.Command,
    payloads.CommandAck,
    payloads.Broadcast,
]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda kids: (
        st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=12), kids, max_size=5)
    ),
    max_leaves=30,
)


def _valid_event() -> dict[str, object]:
    return {
        "event_id": "5a0e2f2c-9a4b-4a55-9d55-0a4c6e0f3b11",
        "session_id": "a" * 32,
        "boot_id": "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
        "seq": 1,
        "monotonic_ms": 1000,
        "occurred_at": "2026-11-26T01:02:03+00:00",
        "clock_synced": True,
        "source": "button",
        "kind": "panic",
        "input": "tombol_pencurian",
        "incident_type": "pencurian",
    }


def _decode_or_our_error(model: type[payloads.Payload], raw: bytes) -> None:
    try:
        payloads.decode(model, raw)
    except PayloadError as exc:
        reason = exc.reason
    else:
        return
    assert reason in {"oversize", "bad_json", "schema"}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(MODELS), raw=st.binary(max_size=512))
def test_decode_random_bytes(model: type[payloads.Payload], raw: bytes) -> None:
    _decode_or_our_error(model, raw)


@settings(max_examples=150)
@given(model=st.sampled_from(MODELS), value=json_values)
def test_decode_random_json(model: type[payloads.Payload], value: object) -> None:
    _decode_or_our_error(model, json.dumps(value).encode())


@settings(max_examples=150)
@given(key=st.sampled_from(sorted(_valid_event())), value=json_values)
def test_decode_event_with_one_field_replaced(key: str, value: object) -> None:
    ev = _valid_event() | {key: value}
    _decode_or_our_error(payloads.Event, json.dumps(ev).encode())


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,
        b"[" * 5000 + b"]" * 5000,
        b'{"seq": NaN}',
        b'{"seq": Infinity}',
        b"\xff\xfe\xfd",
        b'{"input": "\xed\xa0\x80"}',
        b"",
        b"null",
        b'{"seq": 1e999}',
        json.dumps(_valid_event() | {"seq": 2**80}).encode(),
        json.dumps(_valid_event() | {"monotonic_ms": math.inf}).encode(),
    ],
)
def test_decode_hostile_shapes(raw: bytes) -> None:
    for model in MODELS:
        _decode_or_our_error(model, raw)


def test_the_valid_event_is_valid() -> None:
    assert payloads.decode(payloads.Event, json.dumps(_valid_event()).encode()).seq == 1


yaml_fragments = st.sampled_from(
    [
        "a: 1\n",
        "a: [1, 2\n",
        "? [a, b]\n: 1\n",
        "? {a: 1}\n: 2\n",
        "a: &x 1\nb: *x\n",
        "a: *missing\n",
        "<<: {a: 1}\n",
        "<<: 5\n",
        "!!python/object:os.system {}\n",
        "a: !!timestamp 2020-13-45\n",
        "a: !!int nope\n",
        "a: !!float x\n",
        "a: !!binary '%%%'\n",
        "a: !custom 1\n",
        "- 1\n- 2\n",
        "1.5: x\n",
        "null: x\n",
        "true: x\n",
        "2020-01-01: x\n",
        "a: 1\na: 2\n",
        "\t a: 1\n",
        "%YAML 9.9\n---\na: 1\n",
        "---\na: 1\n---\nb: 2\n",
        "a: !!set {x, y}\n",
        "a: !!omap [x: 1]\n",
        "",
        "\x00",
    ]
)


@settings(max_examples=150)
@given(
    parts=st.lists(yaml_fragments | st.text(max_size=60), max_size=4),
    model=st.sampled_from([District, Gateway]),
)
def test_yaml_reader_answers_with_problems(
    parts: list[str],
    model: type[District] | type[Gateway],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = tmp_path_factory.mktemp("y") / "f.yaml"
    path.write_text("".join(parts), encoding="utf-8", errors="surrogatepass")
    doc, problems = read_yaml(path)
    if problems or doc.data is None:
        return
    validate_model(model, doc)


@settings(max_examples=100)
@given(
    which=st.sampled_from(["district.yaml", "gateways/tb-poncowati-01.yaml"]),
    cut=st.integers(min_value=0, max_value=10_000),
    junk=st.text(max_size=20),
)
def test_mangled_sample_files(
    which: str, cut: int, junk: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = (SAMPLE_CONFIG / which).read_text(encoding="utf-8")
    cut %= len(text) + 1
    path = tmp_path_factory.mktemp("m") / "f.yaml"
    path.write_text(text[:cut] + junk + text[cut:], encoding="utf-8", errors="surrogatepass")
    doc, problems = read_yaml(path, display=which)
    if problems or doc.data is None:
        return
    validate_model(District if which == "district.yaml" else Gateway, doc)


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"a: \xff\xfe\n")
    _, problems = read_yaml(path)
    assert problems
