"""SMS through a GSM modem: AT commands over a pseudo-terminal, replies read from its inbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from kentongan_cloud.responders import ManualClock, TransientChannelError, build_responders
from kentongan_cloud.responders.channels.sms_modem import ModemSmsChannel
from kentongan_cloud.responders.messages import sms_parts
from kentongan_cloud.responders.models import AlertContent
from kentongan_cloud.responders.routing import facts, recipient
from kentongan_cloud.responders.settings import ModemSettings
from kentongan_cloud.store.responders import Engine
from kentongan_protocol.provisioning.district import Channel
from kentongan_protocol.provisioning.tree import Provisioning, load_tree

from .conftest import WEBHOOK_SECRETS, Mailbox, Providers, make_settings
from .fakes import FakeModem
from .support import MONDAY_NIGHT, notice

pytestmark = pytest.mark.anyio


def content(prov: Provisioning) -> AlertContent:
    n = notice(prov)
    return AlertContent(
        kind="alert",
        notice=n,
        facts=facts(prov.district, n),
        recipient=recipient(prov.district, "rt-putra-buyut-02"),
        also_told=["Polsek Gunung Sugih", "Satpol PP Kabupaten Lampung Tengah"],
        ack_url="https://kentongan.lamtengkab.example.id/t/CUYja1aAKTWaZjmLmK1GTieoqGf409aY0w",
        reply_code="WXSJZV",
    )


async def test_modem_sends_in_text_mode_and_splits_long_messages(
    provisioning: Provisioning, modem: FakeModem
) -> None:
    channel = ModemSmsChannel(ModemSettings(device=modem.device, timeout_s=5))
    receipt = await channel.send(
        Channel(type="sms_modem", to="081200000027"),
        content(provisioning),
        now=MONDAY_NIGHT,
        idempotency_key="k",
    )
    assert modem.commands[:4] == ["AT", "AT+CMGF=1", 'AT+CSCS="GSM"', 'AT+CMGS="+6281200000027"']
    assert [n for n, _ in modem.sent] == ["+6281200000027"] * len(modem.sent)
    parts = [t for _, t in modem.sent]
    print("\n--- SMS by modem ---\n" + "\n".join(parts))
    assert len(parts) >= 2
    assert all(len(p) <= 160 for p in parts)
    assert parts[0].startswith(f"(1/{len(parts)}) KENTONGAN - PENCURIAN / MALING | Lokasi:")
    whole = " ".join(p.split(") ", 1)[1] for p in parts)
    assert "TERIMA WXSJZV" in whole
    assert "https://kentongan.lamtengkab.example.id/t/CUYja1aAKTWaZjmLmK1GTieoqGf409aY0w" in whole
    assert receipt.response.startswith("+CMGS: 1, 2")


async def test_modem_error_is_transient(provisioning: Provisioning, modem: FakeModem) -> None:
    modem.fail_sends = 1
    channel = ModemSmsChannel(ModemSettings(device=modem.device, timeout_s=5))
    with pytest.raises(TransientChannelError, match=r"\+CMS ERROR: 500"):
        await channel.send(
            Channel(type="sms_modem", to="+6281200000027"),
            content(provisioning),
            now=MONDAY_NIGHT,
            idempotency_key="k",
        )


async def test_missing_modem_is_transient(provisioning: Provisioning, tmp_path: Path) -> None:
    channel = ModemSmsChannel(ModemSettings(device=str(tmp_path / "ttyUSB9"), timeout_s=1))
    with pytest.raises(TransientChannelError, match="cannot open"):
        await channel.send(
            Channel(type="sms_modem", to="+6281200000027"),
            content(provisioning),
            now=MONDAY_NIGHT,
            idempotency_key="k",
        )


def test_parts_never_lose_words_within_the_limit() -> None:
    text = " ".join(f"kata{i}" for i in range(80))
    parts = sms_parts(text, 6)
    assert " ".join(p.split(") ", 1)[1] for p in parts) == text
    assert all(len(p) <= 160 for p in parts)
    assert sms_parts("pendek", 3) == ["pendek"]


async def test_a_ketua_rt_without_a_provider_is_paged_by_modem_and_replies_by_sms(
    engine: Engine,
    config_tree: Path,
    providers: Providers,
    clock: ManualClock,
    smtp_server: tuple[Mailbox, int],
    modem: FakeModem,
) -> None:
    district_file = config_tree / "district.yaml"
    text = district_file.read_text(encoding="utf-8")
    text = text.replace(
        '{type: sms, to: "+6281200000027"}', '{type: sms_modem, to: "+6281200000027"}'
    )
    district_file.write_text(text, encoding="utf-8")
    prov = load_tree(config_tree)
    settings = make_settings(
        providers, smtp_server[1], modem={"device": modem.device, "timeout_s": 5}
    )
    r = await build_responders(engine, prov.district, settings, env=WEBHOOK_SECRETS, clock=clock)
    try:
        await r.notifier.notify(notice(prov), "n-1")
        await r.worker.run_until_idle()
        clock.advance(180)  # Pak Hasan Basri is the RT's second person
        await r.worker.run_until_idle()
        sent = " ".join(t.split(") ", 1)[1] for n, t in modem.sent if n == "+6281200000027")
        code = sent.split("TERIMA ", 1)[1].split(" ", 1)[0]
        modem.inbox = [
            (3, "+6281200000031", f"TERIMA {code}"),  # another Ketua RT's phone
            (4, "+6281200000027", f"terima {code}"),
        ]
        outcomes = await r.poll_modem_replies()
        acks = await r.acks.acknowledgements("inc-0001")
    finally:
        await r.aclose()
    assert [o.ok for o in outcomes] == [False, True]
    assert outcomes[0].reply == f"Kode {code} bukan untuk nomor ini."
    assert [(a.person_id, a.channel) for a in acks] == [("rt-putra-buyut-02", "sms_modem")]
    assert modem.inbox == []  # read and deleted
    answers = [t for n, t in modem.sent[-2:]]
    assert answers[1].startswith("Diterima: Pak Hasan Basri.")
