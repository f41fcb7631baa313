"""Telegram Bot API sendMessage, with an inline "Terima" button that opens the signed link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from kentongan_protocol.provisioning.district import Channel, ChannelType

from kentongan_cloud.responders.channels.base import parse_json, post
from kentongan_cloud.responders.errors import TransientChannelError
from kentongan_cloud.responders.messages import chat_text
from kentongan_cloud.responders.models import AlertContent, Content, SendReceipt
from kentongan_cloud.responders.settings import TelegramSettings


class TelegramChannel:
    channel_type: ChannelType = "telegram"

    def __init__(self, settings: TelegramSettings, *, timeout_s: float) -> None:
        self._client = httpx.AsyncClient(timeout=timeout_s)
        token = settings.bot_token.get_secret_value()
        self._url = f"{settings.api_base.rstrip('/')}/bot{token}/sendMessage"

    def provider_for(self, channel: Channel) -> str:
        return "telegram"

    @staticmethod
    def body(chat_id: str, content: Content, now: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chat_id": chat_id,
            "text": chat_text(content, now),
            "link_preview_options": {"is_disabled": True},
        }
        if isinstance(content, AlertContent) and content.ack_url:
            body["reply_markup"] = {
                "inline_keyboard": [[{"text": "\u2705 Terima", "url": content.ack_url}]]
            }
        return body

    async def send(
        self, channel: Channel, content: Content, *, now: datetime, idempotency_key: str
    ) -> SendReceipt:
        response = await post(
            self._client, self._url, provider="telegram", body=self.body(channel.to, content, now)
        )
        doc = parse_json(response.text)
        if not doc.get("ok"):
            retry = (doc.get("parameters") or {}).get("retry_after")
            raise TransientChannelError(
                f"telegram: {doc.get('description', 'not ok')}",
                status=response.status_code,
                response=response.text,
                retry_after_s=float(retry) if retry is not None else None,
            )
        result = doc.get("result") or {}
        return SendReceipt(
            provider="telegram",
            status=response.status_code,
            message_id=str(result.get("message_id")) if result.get("message_id") else None,
            response=response.text[:2000],
        )

    async def aclose(self) -> None:
        await self._client.aclose()
