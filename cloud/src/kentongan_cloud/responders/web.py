"""HTTP routes: the one-tap "Terima" page, and inbound replies (SMS gateway, Telegram).

GET /t/{token} shows the incident and one big button; the button POSTs. A GET never
acknowledges, because chat apps and mail scanners open links to build previews."""

from __future__ import annotations

import html
import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from kentongan_cloud.responders.acks import AckDesk, LinkView
from kentongan_cloud.responders.channels.sms_http import twilio_signature
from kentongan_cloud.responders.errors import AckRefusedError
from kentongan_cloud.responders.messages import SOURCE_WORDS, ago, clock_time, map_link
from kentongan_cloud.responders.settings import ResponderSettings

DEVICE_COOKIE = "kentongan_perangkat"
SMS_INBOUND_PATH = "/responders/sms/inbound"
TELEGRAM_PATH = "/responders/telegram/webhook"
REFUSALS = {
    "forged": (403, "Tautan tidak sah", "Tautan ini tidak dikenali. Buka tautan dari pesan asli."),
    "expired": (410, "Tautan kedaluwarsa", "Tautan ini sudah kedaluwarsa. Hubungi command center."),
    "reused": (409, "Tautan sudah dipakai", "Tautan ini sudah dipakai di perangkat lain."),
    "unknown": (404, "Tidak ditemukan", "Kejadian ini tidak ditemukan."),
}
_STYLE = (
    "body{font-family:sans-serif;max-width:32rem;margin:1rem auto;padding:0 1rem;line-height:1.4}"
    "button{font-size:1.6rem;width:100%;padding:1rem;background:#0a7d32;color:#fff;border:0;"
    "border-radius:.5rem}.ok{color:#0a7d32}.no{color:#b00020}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        f'<!doctype html><html lang="id"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers={"Cache-Control": "no-store"})


def _refusal(exc: AckRefusedError) -> HTMLResponse:
    status, title, text = REFUSALS.get(exc.reason, REFUSALS["unknown"])
    return _page(title, f'<h1 class="no">{title}</h1><p>{html.escape(text)}</p>', status)


def _summary(view: LinkView, tz: str, now: datetime) -> str:
    n = view.notice
    since = n.first_occurred_at or n.opened_at
    post = f" - {html.escape(n.post_name)}" if n.post_name else ""
    return (
        f"<h1>{html.escape(n.type_label)}</h1>"
        f"<p>Kp. {html.escape(n.kampung_name)}{post} ({SOURCE_WORDS[n.source]})<br>"
        f"Sejak {clock_time(since, tz)} ({ago(since, now)})<br>"
        f'<a href="{map_link(n.lat, n.lon)}">Lihat peta</a></p>'
        f"<p>Untuk: {html.escape(view.person_name)} ({html.escape(view.agency_name)})</p>"
    )


def make_router(desk: AckDesk, settings: ResponderSettings) -> APIRouter:
    """Routes to mount at the root of the public app (links point at {public_url}/t/…)."""
    router = APIRouter(tags=["responders"])
    tz = desk.core.district.district.timezone

    @router.get("/t/{token}", response_class=HTMLResponse)
    async def ack_page(token: str) -> HTMLResponse:
        try:
            view = await desk.view(token)
        except AckRefusedError as exc:
            return _refusal(exc)
        if view.acked_at is not None:
            done = f'<p class="ok">Sudah diterima {clock_time(view.acked_at, tz)}.</p>'
            return _page("Sudah diterima", _summary(view, tz, desk.core.clock.now()) + done)
        form = '<form method="post"><button type="submit">\u2705 Terima</button></form>'
        return _page("Terima kejadian", _summary(view, tz, desk.core.clock.now()) + form)

    @router.post("/t/{token}", response_class=HTMLResponse)
    async def ack(
        token: str,
        device: Annotated[str | None, Cookie(alias=DEVICE_COOKIE)] = None,
    ) -> HTMLResponse:
        device = device or secrets.token_urlsafe(24)
        try:
            outcome = await desk.by_link(token, device)
        except AckRefusedError as exc:
            return _refusal(exc)
        a = outcome.ack
        word = "Sudah diterima sebelumnya" if outcome.already else "Terima kasih"
        body = (
            f'<h1 class="ok">{word}</h1><p>{html.escape(a.person_name)} '
            f"({html.escape(a.agency_name)}) menerima kejadian ini pukul "
            f"{clock_time(a.at, tz)}. Eskalasi dihentikan untuk instansi Anda.</p>"
        )
        response = _page(word, body)
        response.set_cookie(
            DEVICE_COOKIE,
            device,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            path="/t",
            secure=settings.public_url.startswith("https://"),
        )
        return response

    @router.post(SMS_INBOUND_PATH)
    async def sms_inbound(
        request: Request,
        signature: Annotated[str | None, Header(alias="X-Twilio-Signature")] = None,
    ) -> Response:
        """Replies from the SMS gateway (Twilio's inbound webhook shape, signed)."""
        if settings.sms is None:
            raise HTTPException(404, "SMS gateway not configured")
        form = {k: str(v) for k, v in (await request.form()).items()}
        url = settings.public_url.rstrip("/") + SMS_INBOUND_PATH
        expected = twilio_signature(url, form, settings.sms.auth_token.get_secret_value())
        if signature is None or not secrets.compare_digest(signature, expected):
            raise HTTPException(403, "bad signature")
        outcome = await desk.by_reply("sms", form.get("From", ""), form.get("Body", ""))
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Response><Message>{html.escape(outcome.reply)}</Message></Response>"
        )
        return Response(twiml, media_type="application/xml")

    @router.post(TELEGRAM_PATH)
    async def telegram_update(
        request: Request,
        secret: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
    ) -> dict[str, Any]:
        """Telegram webhook updates; the answer is sent back in the webhook response."""
        tg = settings.telegram
        if tg is None or tg.webhook_secret is None:
            raise HTTPException(404, "Telegram webhook not configured")
        if secret is None or not secrets.compare_digest(
            secret, tg.webhook_secret.get_secret_value()
        ):
            raise HTTPException(403, "bad secret token")
        update = await request.json()
        message = update.get("message") if isinstance(update, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return {}
        chat_id = str((message.get("chat") or {}).get("id", ""))
        outcome = await desk.by_reply("telegram", chat_id, message["text"])
        return {"method": "sendMessage", "chat_id": chat_id, "text": outcome.reply}

    return router
