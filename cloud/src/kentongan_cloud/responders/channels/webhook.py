"""Webhooks for systems: Kentongan JSON or CAP 1.2 XML, signed with HMAC-SHA256.

Headers: `X-Kentongan-Timestamp` (unix seconds), `X-Kentongan-Signature: sha256=<hex>` over
`<timestamp>.<body>` with the secret named by the channel's `secret_env`, and
`Idempotency-Key` (a receiver that honours it never acts twice). A 409 answer means the
receiver already has this key and counts as delivered."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from kentongan_protocol.provisioning.district import Channel, ChannelType

from kentongan_cloud.responders.channels.base import post
from kentongan_cloud.responders.errors import PermanentChannelError
from kentongan_cloud.responders.models import Content, FleetContent, SendReceipt
from kentongan_cloud.responders.payloads import cap_xml, fleet_json_body, json_body

SIGNATURE_HEADER = "X-Kentongan-Signature"
TIMESTAMP_HEADER = "X-Kentongan-Timestamp"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return (
        "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers (and our tests): constant-time check of a signature header."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookChannel:
    channel_type: ChannelType = "webhook"

    def __init__(self, env: Mapping[str, str], *, timeout_s: float) -> None:
        self._env = env
        self._client = httpx.AsyncClient(timeout=timeout_s)

    def provider_for(self, channel: Channel) -> str:
        return f"webhook:{urlsplit(channel.to).netloc}"

    async def send(
        self, channel: Channel, content: Content, *, now: datetime, idempotency_key: str
    ) -> SendReceipt:
        secret = self._env.get(channel.secret_env or "", "")
        if not secret:
            msg = f"webhook: secret {channel.secret_env or '(secret_env not set)'} is missing"
            raise PermanentChannelError(msg)
        if isinstance(content, FleetContent):
            if channel.format == "cap":  # CAP has no form for a post's equipment
                msg = "webhook: a CAP receiver takes incidents only, not equipment alerts"
                raise PermanentChannelError(msg)
            body, ctype = fleet_json_body(content, now, idempotency_key), "application/json"
        elif channel.format == "cap":
            body, ctype = cap_xml(content, now, idempotency_key), "application/cap+xml"
        else:
            body, ctype = json_body(content, now, idempotency_key), "application/json"
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": f"{ctype}; charset=utf-8",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret.encode(), timestamp, body),
            "Idempotency-Key": idempotency_key,
            "User-Agent": "kentongan-cloud",
        }
        provider = self.provider_for(channel)
        try:
            response = await post(
                self._client, channel.to, provider=provider, content=body, headers=headers
            )
        except PermanentChannelError as exc:
            if exc.status != 409:
                raise
            return SendReceipt(provider=provider, status=409, response=exc.response)
        return SendReceipt(
            provider=provider,
            status=response.status_code,
            message_id=response.headers.get("x-request-id"),
            response=response.text[:2000],
        )

    async def aclose(self) -> None:
        await self._client.aclose()


__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookChannel", "sign", "verify"]
