"""SMS through an HTTP gateway with Twilio's Programmable Messaging API shape:
POST /2010-04-01/Accounts/{AccountSid}/Messages.json (form: To, From, Body; HTTP Basic auth
with the account SID and auth token) answers 201 with the message's `sid` and `status`.
Inbound replies arrive as form posts signed with X-Twilio-Signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

import httpx
from kentongan_protocol.provisioning.district import Channel, ChannelType

from kentongan_cloud.responders.channels.base import parse_json, post
from kentongan_cloud.responders.errors import PermanentChannelError, TransientChannelError
from kentongan_cloud.responders.messages import sms_text
from kentongan_cloud.responders.models import Content, SendReceipt
from kentongan_cloud.responders.settings import TwilioSmsSettings

RETRYABLE_CODES = frozenset({20429, 20500, 20503, 30001})


def e164(to: str) -> str:
    """+62… for Indonesian numbers written 08…."""
    digits = "".join(ch for ch in to if ch.isdigit())
    if to.strip().startswith("+"):
        return "+" + digits
    return "+62" + digits[1:] if digits.startswith("0") else "+" + digits


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """Twilio's request signature: HMAC-SHA1 over the URL and the sorted form fields."""
    payload = url + "".join(k + params[k] for k in sorted(params))
    mac = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode("ascii")


class TwilioSmsChannel:
    channel_type: ChannelType = "sms"

    def __init__(self, settings: TwilioSmsSettings, *, timeout_s: float) -> None:
        self._s = settings
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._url = (
            f"{settings.api_base.rstrip('/')}/2010-04-01/Accounts/{settings.account_sid}"
            "/Messages.json"
        )

    def provider_for(self, channel: Channel) -> str:
        return "sms"

    async def send(
        self, channel: Channel, content: Content, *, now: datetime, idempotency_key: str
    ) -> SendReceipt:
        form = {"To": e164(channel.to), "From": self._s.from_number, "Body": sms_text(content, now)}
        auth = httpx.BasicAuth(self._s.account_sid, self._s.auth_token.get_secret_value())
        try:
            response = await post(self._client, self._url, provider="sms", data=form, auth=auth)
        except PermanentChannelError as exc:
            code = parse_json(exc.response).get("code")
            if code in RETRYABLE_CODES:
                raise TransientChannelError(
                    f"sms: error code {code}", status=exc.status, response=exc.response
                ) from exc
            raise
        doc = parse_json(response.text)
        if doc.get("status") in {"failed", "undelivered"}:
            raise PermanentChannelError(
                f"sms: message {doc.get('status')}",
                status=response.status_code,
                response=response.text,
            )
        sid = doc.get("sid")
        return SendReceipt(
            provider="sms",
            status=response.status_code,
            message_id=str(sid) if sid else None,
            response=response.text[:2000],
        )

    async def aclose(self) -> None:
        await self._client.aclose()
