"""The one interface every channel adapter implements, and shared HTTP handling."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import httpx
from kentongan_protocol.provisioning.district import Channel, ChannelType

from kentongan_cloud.responders.errors import PermanentChannelError, TransientChannelError
from kentongan_cloud.responders.models import Content, SendReceipt

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class ChannelAdapter(Protocol):
    """Sends one message to one address. Raises TransientChannelError (retry this channel)
    or PermanentChannelError (go to the next channel)."""

    channel_type: ChannelType

    def provider_for(self, channel: Channel) -> str:
        """The key that rate limits and back-off are kept under."""
        ...

    async def send(
        self, channel: Channel, content: Content, *, now: datetime, idempotency_key: str
    ) -> SendReceipt: ...

    async def aclose(self) -> None: ...


def retry_after(response: httpx.Response) -> float | None:
    """From a Retry-After header, or Telegram's `parameters.retry_after`."""
    value = response.headers.get("retry-after")
    if value is None:
        value = (parse_json(response.text).get("parameters") or {}).get("retry_after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    provider: str,
    body: Mapping[str, Any] | None = None,
    data: Mapping[str, str] | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.BasicAuth | None = None,
) -> httpx.Response:
    """POST and classify: network errors, timeouts, 408/429/5xx are transient; other non-2xx
    answers are permanent. The provider's answer travels with the error for the log."""
    try:
        response = await client.post(
            url,
            json=body,
            data=data,
            content=content,
            headers=headers,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.TimeoutException as exc:
        raise TransientChannelError(f"{provider}: timeout ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise TransientChannelError(f"{provider}: {type(exc).__name__}: {exc}") from exc
    if response.is_success:
        return response
    text = response.text[:2000]
    if response.status_code in RETRYABLE_STATUS:
        raise TransientChannelError(
            f"{provider}: HTTP {response.status_code}",
            status=response.status_code,
            response=text,
            retry_after_s=retry_after(response),
        )
    raise PermanentChannelError(
        f"{provider}: HTTP {response.status_code}", status=response.status_code, response=text
    )


def parse_json(text: str) -> dict[str, Any]:
    """A provider's JSON object, or {} when the answer is not one."""
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
