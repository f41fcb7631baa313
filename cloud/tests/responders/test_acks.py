"""One-tap acknowledgement: the signed link acknowledges once for its person, and is refused
when forged, expired or reused on another device; reply keywords over SMS and Telegram."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from kentongan_cloud.responders import AckRefusedError, ManualClock, Responders
from kentongan_cloud.responders.channels.sms_http import twilio_signature
from kentongan_cloud.responders.tokens import LinkSigner
from kentongan_protocol.provisioning.tree import Provisioning

from .conftest import Providers
from .fakes import TWILIO_TOKEN
from .support import MONDAY_NIGHT, notice

pytestmark = pytest.mark.anyio
PUBLIC = "https://kentongan.lamtengkab.example.id"


def browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC)


@pytest.fixture
async def paged(
    responders: Responders, district: Provisioning, providers: Providers
) -> tuple[FastAPI, str]:
    """The app with the router mounted, and the link Brigpol Dedi got by WhatsApp."""
    await responders.notifier.notify(notice(district), "n-1")
    await responders.worker.run_until_idle()
    (msg,) = providers.whatsapp.to("+6281200000002")
    match = re.search(r"Terima: (\S+)", msg.text)
    assert match
    app = FastAPI()
    app.include_router(responders.router())
    return app, match.group(1).removeprefix(PUBLIC)


async def test_link_acknowledges_once_for_its_person(
    responders: Responders, paged: tuple[FastAPI, str], clock: ManualClock
) -> None:
    app, path = paged
    clock.advance(75)
    async with browser(app) as phone:
        page = await phone.get(path)
        assert page.status_code == 200
        assert "Pencurian / maling" in page.text
        assert "Untuk: Brigpol Dedi Kurniawan (Polsek Gunung Sugih)" in page.text
        assert '<form method="post">' in page.text
        assert await responders.acks.acknowledgements("inc-0001") == []  # a GET never acks

        tap = await phone.post(path)
        assert tap.status_code == 200
        assert "Terima kasih" in tap.text
        assert "pukul 06/05 21:01 WIB" in tap.text
        again = await phone.post(path)  # the same phone taps again
        assert again.status_code == 200
        assert "Sudah diterima sebelumnya" in again.text
        assert "Sudah diterima" in (await phone.get(path)).text
    (ack,) = await responders.acks.acknowledgements("inc-0001")
    assert (ack.person_id, ack.agency_id, ack.channel, ack.first) == (
        "gs-bhabin-terbanggi",
        "polsek-gunung-sugih",
        "link",
        True,
    )
    assert ack.at == MONDAY_NIGHT.replace(minute=1, second=15)


async def test_link_used_on_another_device_is_refused(
    responders: Responders, paged: tuple[FastAPI, str]
) -> None:
    app, path = paged
    async with browser(app) as phone:
        assert (await phone.post(path)).status_code == 200
    async with browser(app) as forwarded:  # the link was forwarded to a group chat
        refused = await forwarded.post(path)
    assert refused.status_code == 409
    assert "sudah dipakai di perangkat lain" in refused.text
    assert len(await responders.acks.acknowledgements("inc-0001")) == 1


async def test_forged_links_are_refused(responders: Responders, paged: tuple[FastAPI, str]) -> None:
    app, path = paged
    token = path.removeprefix("/t/")
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    other_key = LinkSigner(b"not-the-secret").sign(
        token_page(responders, token), MONDAY_NIGHT.replace(year=2025)
    )
    async with browser(app) as phone:
        for bad in (flipped, other_key, "abc", token + "AAAA", "%00" * 20):
            answer = await phone.post(f"/t/{bad}")
            assert answer.status_code == 403, bad
            assert "Tautan tidak sah" in answer.text
            assert (await phone.get(f"/t/{bad}")).status_code == 403
    assert await responders.acks.acknowledgements("inc-0001") == []


def token_page(responders: Responders, token: str) -> str:
    return responders.notifier.signer.verify(token, MONDAY_NIGHT).page_id


async def test_expired_links_are_refused(
    responders: Responders, paged: tuple[FastAPI, str], clock: ManualClock
) -> None:
    app, path = paged
    clock.advance(responders.settings.link_ttl_s + 1)
    async with browser(app) as phone:
        answer = await phone.post(path)
    assert answer.status_code == 410
    assert "kedaluwarsa" in answer.text
    with pytest.raises(AckRefusedError, match="expired"):
        await responders.acks.by_link(path.removeprefix("/t/"), "device")


async def test_sms_reply_through_the_gateway_webhook(
    responders: Responders, district: Provisioning, providers: Providers, clock: ManualClock
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await responders.worker.run_until_idle()
    clock.advance(180)
    await responders.worker.run_until_idle()
    (sms,) = providers.sms.to("+6281200000027")  # Pak Hasan Basri has SMS only
    print("\n--- SMS (HTTP gateway) ---\n" + sms.text)
    assert sms.text.startswith("KENTONGAN - PENCURIAN / MALING | Lokasi: Kp. Buyut Udik")
    code = re.search(r"TERIMA (\w{6})", sms.text)
    assert code
    app = FastAPI()
    app.include_router(responders.router())
    url = f"{PUBLIC}/responders/sms/inbound"
    async with browser(app) as twilio:
        form = {
            "From": "+6281200000027",
            "To": "+6281100000000",
            "Body": f"Terima {code[1]}",
            "MessageSid": "SM" + "1" * 32,
        }
        forged = await twilio.post(url, data=form, headers={"X-Twilio-Signature": "bm9wZQ=="})
        assert forged.status_code == 403
        answer = await twilio.post(
            url,
            data=form,
            headers={"X-Twilio-Signature": twilio_signature(url, form, TWILIO_TOKEN)},
        )
    assert answer.status_code == 200
    assert "<Message>Diterima: Pak Hasan Basri." in answer.text
    (ack,) = await responders.acks.acknowledgements("inc-0001")
    assert (ack.person_id, ack.channel) == ("rt-putra-buyut-02", "sms")


async def test_telegram_reply_and_someone_elses_code(
    responders: Responders, district: Provisioning, providers: Providers, clock: ManualClock
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await responders.worker.run_until_idle()
    clock.advance(180)
    await responders.worker.run_until_idle()  # Satpol PP's posko is paged on Telegram
    (tg,) = providers.telegram.to("100000018")
    code = tg.text.rsplit(" ", 1)[1]
    app = FastAPI()
    app.include_router(responders.router())
    secret = {"X-Telegram-Bot-Api-Secret-Token": "tg-webhook-secret"}

    def update(chat: int, text: str) -> dict[str, object]:
        return {
            "update_id": 1,
            "message": {
                "message_id": 9,
                "date": 0,
                "text": text,
                "chat": {"id": chat, "type": "private"},
            },
        }

    async with browser(app) as telegram:
        hook = "/responders/telegram/webhook"
        assert (await telegram.post(hook, json=update(100000018, "TERIMA"))).status_code == 403
        other = await telegram.post(hook, json=update(100000035, f"TERIMA {code}"), headers=secret)
        assert other.json()["text"] == f"Kode {code} bukan untuk nomor ini."
        mine = await telegram.post(hook, json=update(100000018, "terima"), headers=secret)
    assert mine.json() == {
        "method": "sendMessage",
        "chat_id": "100000018",
        "text": "Diterima: Posko Satpol PP Gunung Sugih. Terima kasih, segera tindak lanjuti.",
    }
    assert [a.person_id for a in await responders.acks.acknowledgements("inc-0001")] == ["pp-posko"]


async def test_operator_in_the_console_stops_escalation(
    responders: Responders, district: Provisioning, clock: ManualClock, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await responders.worker.run_until_idle()
    await responders.acks.by_operator("inc-0001", "operator-cc")
    for _ in range(10):
        clock.advance(180)
        await responders.worker.run_until_idle()
    assert len(providers.whatsapp.received) == 3  # the first round only
    (ack,) = await responders.acks.acknowledgements("inc-0001")
    assert (ack.person_id, ack.channel) == ("operator:operator-cc", "operator")
