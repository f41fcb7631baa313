"""WhatsApp Business Cloud API: POST /{version}/{phone_number_id}/messages with a bearer
token. Text inside the 24-hour window, an approved template outside it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
from kentongan_protocol.provisioning.district import Channel, ChannelType

from kentongan_cloud.responders.channels.base import parse_json, post
from kentongan_cloud.responders.errors import (
    PermanentChannelError,
    TransientChannelError,
)
from kentongan_cloud.responders.messages import (
    FLEET_HEADLINE,
    chat_text,
    clock_time,
    fleet_place,
    headline,
    place,
)
from kentongan_cloud.responders.models import Content, FleetContent, SendReceipt
from kentongan_cloud.responders.settings import WhatsAppSettings

# Graph API error codes that mean "slow down" or "try later" even on a 400 answer.
RETRYABLE_CODES = frozenset({4, 80007, 130429, 131000, 131016, 131056, 133016})


def template_params(c: Content) -> list[str]:
    """The approved template's five slots: headline, place, since, link, reply. A
    technician's message has nothing to acknowledge."""
    if isinstance(c, FleetContent):
        since = clock_time(c.alert.raised_at, c.timezone)
        return [f"{FLEET_HEADLINE}: {c.alert.text}", fleet_place(c), since, "-", "-"]
    n = c.notice
    return [
        headline(c),
        place(c),
        clock_time(n.first_occurred_at or n.opened_at, c.facts.timezone),
        c.ack_url or "-",
        f"TERIMA {c.reply_code}" if c.reply_code else "-",
    ]


def wa_number(to: str) -> str:
    """WhatsApp wants digits with the country code, without "+"; 08… becomes 628…."""
    digits = re.sub(r"\D", "", to)
    return "62" + digits[1:] if digits.startswith("0") else digits


class WhatsAppChannel:
    channel_type: ChannelType = "whatsapp"

    def __init__(self, settings: WhatsAppSettings, *, timeout_s: float) -> None:
        self._s = settings
        self._client = httpx.AsyncClient(
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {settings.token.get_secret_value()}"},
        )
        self._url = (
            f"{settings.api_base.rstrip('/')}/{settings.api_version}/"
            f"{settings.phone_number_id}/messages"
        )

    def provider_for(self, channel: Channel) -> str:
        return "whatsapp"

    def body(self, to: str, content: Content, now: datetime) -> dict[str, Any]:
        base: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_number(to),
        }
        if self._s.template is None:
            text = chat_text(content, now)
            return base | {"type": "text", "text": {"preview_url": False, "body": text}}
        params = [{"type": "text", "text": p} for p in template_params(content)]
        return base | {
            "type": "template",
            "template": {
                "name": self._s.template,
                "language": {"code": self._s.template_lang},
                "components": [{"type": "body", "parameters": params}],
            },
        }

    async def send(
        self, channel: Channel, content: Content, *, now: datetime, idempotency_key: str
    ) -> SendReceipt:
        try:
            response = await post(
                self._client,
                self._url,
                provider="whatsapp",
                body=self.body(channel.to, content, now),
            )
        except PermanentChannelError as exc:
            code = parse_json(exc.response).get("error", {}).get("code")
            if code in RETRYABLE_CODES:
                raise TransientChannelError(
                    f"whatsapp: error code {code}", status=exc.status, response=exc.response
                ) from exc
            raise
        doc = parse_json(response.text)
        messages = doc.get("messages") or [{}]
        return SendReceipt(
            provider="whatsapp",
            status=response.status_code,
            message_id=str(messages[0].get("id")) if messages[0].get("id") else None,
            response=response.text[:2000],
        )

    async def aclose(self) -> None:
        await self._client.aclose()
