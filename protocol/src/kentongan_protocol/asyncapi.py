"""The AsyncAPI 3.0 document of the MQTT API, generated from the payload models and topics.

Written from the gateway's point of view: `send` is what a gateway publishes.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from kentongan_protocol import PROTOCOL_VERSION
from kentongan_protocol.payloads import (
    Broadcast,
    Command,
    CommandAck,
    Event,
    EventAck,
    GatewayState,
    Payload,
    Telemetry,
)
from kentongan_protocol.topics import BROADCAST, ROOT, Suffix

# channel name → (address suffix, model, action from the gateway's view, qos, retain, summary)
_CHANNELS: list[tuple[str, str, type[Payload], str, int, bool, str]] = [
    (
        "state",
        Suffix.STATE.value,
        GatewayState,
        "send",
        1,
        True,
        "Birth `online` after subscribing; Last Will `offline` with the same session_id.",
    ),
    (
        "event",
        Suffix.EVENT.value,
        Event,
        "send",
        1,
        False,
        "Panics, cancels, duty check-ins, sensors and supervision; removed from the gateway's "
        "outbox only when event/ack covers it.",
    ),
    (
        "eventAck",
        Suffix.EVENT_ACK.value,
        EventAck,
        "receive",
        1,
        False,
        "Events now committed in the cloud.",
    ),
    ("telemetry", Suffix.TELEMETRY.value, Telemetry, "send", 1, False, "Heartbeat."),
    (
        "cmd",
        Suffix.CMD.value,
        Command,
        "receive",
        1,
        False,
        "Commands to one gateway; MQTT 5 message expiry of at most 60 s.",
    ),
    (
        "cmdAck",
        Suffix.CMD_ACK.value,
        CommandAck,
        "send",
        1,
        False,
        "What the gateway did with a command.",
    ),
]


def _parameters(with_gateway: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"district": {"description": "District id, e.g. lamteng."}}
    if with_gateway:
        params["gateway"] = {"description": "Gateway id, ^[a-z0-9][a-z0-9_-]{0,31}$."}
    return params


def build_document() -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document as plain data."""
    models: list[type[Payload]] = [c[2] for c in _CHANNELS] + [Broadcast]
    _, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas = defs.get("$defs", {})
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    entries = [
        (n, f"{ROOT}/{{district}}/{{gateway}}/{s}", m, a, q, r, d, True)
        for n, s, m, a, q, r, d in _CHANNELS
    ]
    entries.append(
        (
            "broadcast",
            f"{ROOT}/{{district}}/{BROADCAST}/cmd",
            Broadcast,
            "receive",
            1,
            False,
            "Area alarm (titir) or all-clear (aman) for a district.",
            False,
        )
    )
    for name, address, model, action, qos, retain, doc, per_gateway in entries:
        msg_name = model.__name__
        messages[msg_name] = {
            "name": msg_name,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{msg_name}"},
        }
        channels[name] = {
            "address": address,
            "description": doc,
            "parameters": _parameters(per_gateway),
            "messages": {msg_name: {"$ref": f"#/components/messages/{msg_name}"}},
        }
        operations[f"{action}{name[0].upper()}{name[1:]}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{msg_name}"}],
            "bindings": {"mqtt": {"qos": qos, "retain": retain, "bindingVersion": "0.2.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Kentongan gateway MQTT API",
            "version": PROTOCOL_VERSION,
            "description": "Wire contract between pos kamling gateways and the command centre.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "district": {
                "host": "mqtt.example.id:8883",
                "protocol": "mqtt",
                "protocolVersion": "5",
                "description": "District Mosquitto broker (TLS, per-gateway credentials).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
