"""A notice reaches the right people with the right message, once per idempotency key."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from kentongan_cloud.responders import ManualClock, Responders
from kentongan_cloud.responders.models import Drill
from kentongan_protocol.provisioning.tree import Provisioning

from .conftest import Providers
from .support import MONDAY_NIGHT, notice

pytestmark = pytest.mark.anyio
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


async def test_theft_reaches_the_people_on_call_with_a_short_indonesian_message(
    responders: Responders, district: Provisioning, providers: Providers, clock: ManualClock
) -> None:
    clock.advance(120)  # sent two minutes after the press
    await responders.notifier.notify(notice(district), "n-1")
    await responders.worker.run_until_idle()

    wa = {r.to: r.text for r in providers.whatsapp.received}
    assert set(wa) == {"+6281200000002", "+6281200000026", "+6281200000017"}
    police = wa["+6281200000002"]  # Brigpol Dedi Kurniawan, night shift
    print("\n--- WhatsApp ---\n" + police)
    lines = police.splitlines()
    assert lines[0] == "KENTONGAN - PENCURIAN / MALING"
    assert lines[1] == (
        "Lokasi: Kp. Buyut Udik, Kec. Gunung Sugih - Pos Kamling RT 03 Kampung "
        "Buyut Udik (tombol panik)"
    )
    assert lines[2] == "Sejak: 06/05 21:00 WIB (2 menit lalu)"
    assert lines[3] == "Peta: https://maps.google.com/?q=-4.95680,105.17310"
    assert lines[4] == (
        "Juga diberitahu: Ketua RT Kampung Buyut Udik & Putra Buyut, "
        "Satpol PP Kabupaten Lampung Tengah"
    )
    assert lines[5].startswith("Terima: https://kentongan.lamtengkab.example.id/t/")
    assert lines[6].startswith("atau balas: TERIMA ")
    assert len(police) < 500

    # The command centre's CAP feed hears of every incident, signed.
    (cap,) = providers.hooks.received
    assert cap.path == "/cc"
    assert cap.headers["Content-Type"].startswith("application/cap+xml")
    alert = ET.fromstring(cap.body)  # noqa: S314 - our own output
    assert alert.findtext(f"{CAP}status") == "Actual"
    assert alert.findtext(f"{CAP}msgType") == "Alert"
    assert alert.findtext(f"{CAP}sent") == "2024-05-06T21:02:00+07:00"
    info = alert.find(f"{CAP}info")
    assert info is not None
    assert info.findtext(f"{CAP}event") == "Pencurian / maling"
    assert info.findtext(f"{CAP}category") == "Security"
    assert info.findtext(f"{CAP}severity") == "Moderate"
    assert info.findtext(f"{CAP}area/{CAP}circle") == "-4.95680,105.17310 0.5"
    print("\n--- CAP webhook ---\n" + cap.text)
    assert providers.sms.received == []
    assert providers.telegram.received == []


async def test_the_same_key_twice_sends_nothing_more(
    responders: Responders, district: Provisioning, providers: Providers
) -> None:
    n = notice(district)
    await responders.notifier.notify(n, "n-1")
    await responders.notifier.notify(n, "n-1")
    await responders.worker.run_until_idle()
    await responders.notifier.notify(n, "n-1")
    await responders.worker.run_until_idle()
    assert len(providers.whatsapp.received) == 3
    assert len(providers.hooks.received) == 1


async def test_confirmation_and_cancellation_update_everyone_told(
    responders: Responders, district: Provisioning, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await responders.worker.run_until_idle()
    await responders.notifier.notify(
        notice(district, reason="confirmed", confirmed=True, count=2), "n-2"
    )
    await responders.worker.run_until_idle()
    await responders.notifier.notify(notice(district, reason="cancelled", state="cancelled"), "n-3")
    await responders.worker.run_until_idle()
    texts = [r.text for r in providers.whatsapp.to("+6281200000002")]
    assert [t.splitlines()[0] for t in texts] == [
        "KENTONGAN - PENCURIAN / MALING",
        "KENTONGAN - PENCURIAN / MALING TERKONFIRMASI",
        "KENTONGAN - PENCURIAN / MALING DIBATALKAN",
    ]
    assert "Terima:" not in texts[2]
    caps = [ET.fromstring(r.body).findtext(f"{CAP}msgType") for r in providers.hooks.received]  # noqa: S314
    assert caps == ["Alert", "Update", "Cancel"]


async def test_test_incidents_page_nobody(
    responders: Responders, district: Provisioning, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district, status="test"), "n-1")
    await responders.worker.run_until_idle()
    assert providers.whatsapp.received == []
    assert providers.hooks.received == []


async def test_drills_page_only_their_participants(
    responders: Responders, district: Provisioning, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district, status="exercise"), "unplanned")
    await responders.worker.run_until_idle()
    assert providers.whatsapp.received == []  # no drill scheduled: nobody is woken

    await responders.notifier.schedule_drill(
        Drill(
            id="latihan-mei",
            name="Latihan ronda Mei",
            district="lamteng",
            starts_at=MONDAY_NIGHT - timedelta(hours=1),
            ends_at=MONDAY_NIGHT + timedelta(hours=2),
            kecamatan="gunung-sugih",
            participants=["polsek-gunung-sugih"],
        )
    )
    await responders.notifier.notify(
        notice(district, incident_id="inc-2", status="exercise"), "drill"
    )
    await responders.worker.run_until_idle()
    (msg,) = providers.whatsapp.received
    assert msg.to == "+6281200000002"
    assert msg.text.startswith("[LATIHAN] KENTONGAN - PENCURIAN / MALING")
    assert providers.hooks.received == []


async def test_a_cancellation_drops_alerts_not_yet_sent(
    responders: Responders, district: Provisioning, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await responders.notifier.notify(notice(district, reason="cancelled", state="cancelled"), "n-2")
    await responders.worker.run_until_idle()
    texts = [r.text.splitlines()[0] for r in providers.whatsapp.to("+6281200000002")]
    assert texts == ["KENTONGAN - PENCURIAN / MALING DIBATALKAN"]


async def test_backlog_panics_say_how_old_they_are(
    responders: Responders, district: Provisioning, providers: Providers, clock: ManualClock
) -> None:
    clock.advance(2 * 3600 + 15 * 60)  # the post was offline; the backlog drains at 23:15
    n = notice(
        district,
        reason="historical",
        historical=True,
        first_occurred_at=MONDAY_NIGHT,
        opened_at=clock.now(),
    )
    await responders.notifier.notify(n, "n-1")
    await responders.worker.run_until_idle()
    text = providers.whatsapp.to("+6281200000002")[0].text
    assert "Sejak: 06/05 21:00 WIB (2 jam 15 menit lalu)" in text
    assert "Laporan terlambat: pos sempat offline" in text


async def test_the_core_escalating_pages_the_command_centre_at_once(
    responders: Responders, district: Provisioning, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await responders.notifier.notify(notice(district, reason="escalated"), "n-2")
    await responders.worker.run_until_idle()
    (msg,) = providers.telegram.to("100000036")  # the night operator of the command centre
    assert msg.text.startswith("KENTONGAN - ESKALASI PENCURIAN / MALING")


async def test_the_running_worker_sends_as_soon_as_a_notice_is_queued(
    responders: Responders, district: Provisioning, providers: Providers
) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(responders.run(stop, poll_s=60))
    try:
        await responders.notifier.notify(notice(district), "n-1")
        # a bound, not a measurement: the notifier wakes the worker at once
        assert await asyncio.to_thread(providers.whatsapp.wait_for, 3, 30)
        assert await asyncio.to_thread(providers.hooks.wait_for, 1, 30)
    finally:
        stop.set()
        responders.worker.wake.set()
        await runner
    assert len(providers.hooks.received) == 1
