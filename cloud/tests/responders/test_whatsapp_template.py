"""Outside the 24-hour window WhatsApp takes only approved templates: with one configured,
alerts go out as that template with the facts as body parameters."""

from __future__ import annotations

import pytest
from kentongan_cloud.responders import ManualClock, build_responders
from kentongan_cloud.store.responders import Engine
from kentongan_protocol.provisioning.tree import Provisioning

from .conftest import WEBHOOK_SECRETS, Mailbox, Providers, make_settings
from .fakes import WA_PHONE_ID, WA_TOKEN
from .support import notice

pytestmark = pytest.mark.anyio


async def test_alert_as_an_approved_template(
    engine: Engine,
    district: Provisioning,
    providers: Providers,
    clock: ManualClock,
    smtp_server: tuple[Mailbox, int],
) -> None:
    wa = {
        "token": WA_TOKEN,
        "phone_number_id": WA_PHONE_ID,
        "api_base": providers.whatsapp.base,
        "template": "kentongan_alarm",
        "template_lang": "id",
    }
    settings = make_settings(providers, smtp_server[1], whatsapp=wa)
    r = await build_responders(
        engine, district.district, settings, env=WEBHOOK_SECRETS, clock=clock
    )
    try:
        await r.notifier.notify(notice(district), "n-1")
        await r.worker.run_until_idle()
    finally:
        await r.aclose()
    (msg,) = providers.whatsapp.to("+6281200000002")
    template = msg.doc["template"]
    assert msg.doc["type"] == "template"
    assert template["name"] == "kentongan_alarm"
    assert template["language"] == {"code": "id"}
    params = [p["text"] for p in template["components"][0]["parameters"]]
    assert params[0] == "KENTONGAN - PENCURIAN / MALING"
    assert params[1].startswith("Kp. Buyut Udik, Kec. Gunung Sugih")
    assert params[2] == "06/05 21:00 WIB"
    assert params[3].startswith("https://kentongan.lamtengkab.example.id/t/")
    assert params[4].startswith("TERIMA ")
    log = await r.acks.delivery_log("inc-0001")
    assert all(
        a.provider_message_id and a.provider_message_id.startswith("wamid.")
        for a in log
        if a.channel_type == "whatsapp"
    )
