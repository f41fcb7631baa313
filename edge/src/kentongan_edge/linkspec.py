"""What a link is told and what it tells: settings, the listener protocol, backoff.

Kept apart from `link.py` (the paho adapter) so the rest of the daemon and the tests speak
these types without touching paho.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Protocol

from kentongan_edge.errors import EdgeError

# CONNACK reason codes after which retrying cannot help (MQTT 5, 3.2.2.2).
REFUSALS = {
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorised",
    0x8A: "banned",
    0x8C: "bad authentication method",
}


class LinkError(EdgeError, ConnectionError):
    """The link could not do what was asked (not connected, or stopped)."""


class LinkListener(Protocol):
    """What the daemon hears from its link; every call comes on the event loop."""

    def link_up(self) -> None: ...

    def link_down(self, reason: str) -> None: ...

    def link_refused(self, reason: str) -> None: ...

    def link_message(self, topic: str, payload: bytes, expiry_s: int | None) -> None: ...

    def link_published(self, mid: int, reason_code: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Retained:
    """A retained QoS 1 message: the birth, the Last Will, the goodbye."""

    topic: str
    payload: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkSettings:
    """Where and how to connect; user and client id are the gateway id for a gateway."""

    host: str
    port: int
    username: str
    password: str
    client_id: str
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 10
    session_expiry_s: int = 600
    will_delay_s: int = 5
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    connect_timeout_s: float = 5.0
    clean_start: bool = False
    """False: resume the broker's session, so commands queued during an outage arrive."""

    def __post_init__(self) -> None:
        if not 1 <= self.keepalive_s <= 13:
            msg = "keepalive must be 1..13 s so the command centre sees a dead post in 20 s"
            raise ValueError(msg)
        if self.reconnect_min_s <= 0 or self.reconnect_max_s < self.reconnect_min_s:
            msg = "reconnect delays must be positive and min <= max"
            raise ValueError(msg)


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verify the broker against `ca_file` (or the system's CAs), TLS 1.2 or newer."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
