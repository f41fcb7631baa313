"""Log records that always say which district and gateway they come from."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

MAX_LOGGED_PAYLOAD = 120


class GatewayLog(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every message with `district/gateway` and adds both as record attributes."""

    def __init__(self, logger: logging.Logger, district: str, gateway: str) -> None:
        super().__init__(logger, {"district": district, "gateway": gateway})
        self.prefix = f"[{district}/{gateway}] "

    def process(
        self, msg: object, kwargs: MutableMapping[str, Any]
    ) -> tuple[object, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return f"{self.prefix}{msg}", kwargs


def for_gateway(name: str, district: str, gateway: str) -> GatewayLog:
    """The logger of module `name` speaking for one gateway."""
    return GatewayLog(logging.getLogger(name), district, gateway)


def truncated(raw: bytes) -> str:
    """A payload made safe to log: decoded leniently and cut short."""
    text = raw[:MAX_LOGGED_PAYLOAD].decode("utf-8", "replace")
    return text + ("…" if len(raw) > MAX_LOGGED_PAYLOAD else "")
