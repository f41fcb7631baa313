"""Delivery: a failing or silent provider is retried with back-off, then the next channel is
tried; rate limits and back-off are kept per provider in the database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from kentongan_cloud.responders import ManualClock, Responders, build_responders
from kentongan_cloud.responders.clock import to_ms
from kentongan_cloud.responders.models import DeliveryAttempt, Drill
from kentongan_cloud.store.base import make_engine
from kentongan_cloud.store.responders import Engine, ResponderStore
from kentongan_protocol.provisioning.tree import Provisioning

from .conftest import WEBHOOK_SECRETS, Mailbox, Providers, make_settings
from .support import MONDAY_NIGHT, notice

pytestmark = pytest.mark.anyio


async def drill_for(r: Responders, *participants: str) -> None:
    """Page only these people: one recipient makes provider behaviour easy to follow."""
    await r.notifier.schedule_drill(
        Drill(
            id="uji-kanal",
            name="Uji kanal",
            district="lamteng",
            starts_at=MONDAY_NIGHT - timedelta(hours=1),
            ends_at=MONDAY_NIGHT + timedelta(hours=6),
            participants=list(participants),
        )
    )


def brief(log: list[DeliveryAttempt]) -> list[tuple[int, str, int, str]]:
    start = to_ms(MONDAY_NIGHT)
    return [((to_ms(a.at) - start) // 1000, a.channel_type, a.attempt, a.outcome) for a in log]


async def test_failing_whatsapp_is_retried_then_telegram_is_used(
    responders: Responders, district: Provisioning, providers: Providers, clock: ManualClock
) -> None:
    await drill_for(responders, "gs-bhabin-terbanggi")  # channels: whatsapp, telegram
    providers.whatsapp.script.fail(3, status=503)
    await responders.notifier.notify(notice(district, status="exercise"), "n-1")
    await responders.worker.run_until_idle()
    clock.advance(4)
    await responders.worker.run_until_idle()  # not yet: first retry waits 5 s
    assert providers.whatsapp.attempts == 1
    clock.advance(1)
    await responders.worker.run_until_idle()
    clock.advance(20)
    await responders.worker.run_until_idle()
    log = await responders.acks.delivery_log("inc-0001")
    assert brief(log) == [
        (0, "whatsapp", 1, "transient"),
        (5, "whatsapp", 2, "transient"),
        (25, "whatsapp", 3, "transient"),
        (25, "telegram", 1, "sent"),
    ]
    assert log[0].status == 503
    assert "scripted failure" in log[0].response
    assert log[3].provider_message_id == "1"
    assert '"ok": true' in log[3].response
    (msg,) = providers.telegram.received
    print("\n--- Telegram ---\n" + msg.text)
    assert msg.to == "100000002"


async def test_a_provider_that_times_out_is_retried_then_skipped(
    engine: Engine,
    district: Provisioning,
    providers: Providers,
    clock: ManualClock,
    smtp_server: tuple[Mailbox, int],
) -> None:
    settings = make_settings(providers, smtp_server[1], http_timeout_s=0.3)
    r = await build_responders(
        engine, district.district, settings, env=WEBHOOK_SECRETS, clock=clock
    )
    try:
        await drill_for(r, "gs-bhabin-terbanggi")
        providers.whatsapp.script.hang(3, seconds=10)
        await r.notifier.notify(notice(district, status="exercise"), "n-1")
        for step in (0, 5, 20):
            clock.advance(step)
            await r.worker.run_until_idle()
        log = await r.acks.delivery_log("inc-0001")
    finally:
        providers.whatsapp.release.set()
        await r.aclose()
    assert [(a.channel_type, a.outcome) for a in log] == [
        ("whatsapp", "transient"),
        ("whatsapp", "transient"),
        ("whatsapp", "transient"),
        ("telegram", "sent"),
    ]
    assert "timeout" in log[0].response


async def test_a_refused_number_goes_straight_to_the_next_channel(
    responders: Responders, district: Provisioning, providers: Providers
) -> None:
    await drill_for(responders, "gs-bhabin-terbanggi")
    providers.whatsapp.invalid_numbers.add("6281200000002")
    await responders.notifier.notify(notice(district, status="exercise"), "n-1")
    await responders.worker.run_until_idle()
    log = await responders.acks.delivery_log("inc-0001")
    assert brief(log) == [(0, "whatsapp", 1, "permanent"), (0, "telegram", 1, "sent")]
    assert "131030" in log[0].response


async def test_telegram_flood_control_is_honoured(
    responders: Responders, district: Provisioning, providers: Providers, clock: ManualClock
) -> None:
    await drill_for(responders, "pp-posko")  # channels: telegram, email
    providers.telegram.throttle(1, retry_after=7)
    await responders.notifier.notify(notice(district, status="exercise"), "n-1")
    await responders.worker.run_until_idle()
    clock.advance(6)
    await responders.worker.run_until_idle()
    assert providers.telegram.received == []
    clock.advance(1)
    await responders.worker.run_until_idle()
    log = await responders.acks.delivery_log("inc-0001")
    assert brief(log) == [(0, "telegram", 1, "transient"), (7, "telegram", 2, "sent")]
    assert log[0].status == 429


async def test_unconfigured_providers_fall_through_to_email(
    engine: Engine,
    district: Provisioning,
    providers: Providers,
    clock: ManualClock,
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    settings = make_settings(providers, port, whatsapp=None, sms=None)
    r = await build_responders(
        engine, district.district, settings, env=WEBHOOK_SECRETS, clock=clock
    )
    try:
        await drill_for(r, "gs-piket-spkt")  # channels: whatsapp, sms, email
        await r.notifier.notify(notice(district, status="exercise"), "n-1")
        await r.worker.run_until_idle()
        log = await r.acks.delivery_log("inc-0001")
    finally:
        await r.aclose()
    assert [(a.channel_type, a.outcome) for a in log] == [
        ("whatsapp", "unconfigured"),
        ("sms", "unconfigured"),
        ("email", "sent"),
    ]
    assert log[2].status == 250
    assert "queued as KENTONGAN1" in log[2].response
    (mail,) = mailbox.messages
    assert mail.rcpt_tos == ["polsek.gunungsugih@example.id"]
    content = mail.content if isinstance(mail.content, bytes) else b""
    print("\n--- e-mail ---\n" + content.decode())
    assert b"Subject: [LATIHAN] KENTONGAN - PENCURIAN / MALING di Kp. Buyut Udik" in content


async def test_psc119_gets_signed_json_and_a_missing_secret_falls_back(
    engine: Engine,
    district: Provisioning,
    providers: Providers,
    clock: ManualClock,
    settings: object,
) -> None:
    from kentongan_cloud.responders import ResponderSettings  # noqa: PLC0415

    assert isinstance(settings, ResponderSettings)
    for env, expect in ((WEBHOOK_SECRETS, "webhook"), ({}, "whatsapp")):
        store = ResponderStore(engine)
        await store.drop_tables()
        await store.create_tables()
        r = await build_responders(engine, district.district, settings, env=env, clock=clock)
        try:
            await r.notifier.notify(
                notice(district, gateway="tb-poncowati-01", incident_type="darurat_medis"), "n-1"
            )
            await r.worker.run_until_idle()
            log = [
                a for a in await r.acks.delivery_log("inc-0001") if a.person_id == "psc-dispatcher"
            ]
        finally:
            await r.aclose()
        assert log[-1].channel_type == expect
        assert log[-1].outcome == "sent"
    assert providers.hooks.refused == 0
    psc = [h for h in providers.hooks.received if h.path == "/psc119"]
    assert len(psc) == 1
    doc = json.loads(psc[0].body)
    print("\n--- webhook JSON ---\n" + json.dumps(doc, ensure_ascii=False, indent=1)[:1500])
    assert doc["type"] == "kentongan.incident"
    assert doc["incident"]["incident_type"] == "darurat_medis"
    assert doc["recipient"] == {"person_id": "psc-dispatcher", "agency_id": "psc119-lamteng"}
    assert doc["ack"]["url"].startswith("https://kentongan.lamtengkab.example.id/t/")
    assert psc[0].headers["Idempotency-Key"] == doc["idempotency_key"]


async def test_rate_limits_and_back_off_are_shared_through_the_database(
    db_url: str, engine: Engine
) -> None:
    other = make_engine(db_url)
    try:
        a, b = ResponderStore(engine), ResponderStore(other)
        now = to_ms(MONDAY_NIGHT)
        # 1 message/s with bursts of 2, whichever worker asks
        assert await a.reserve("sms", now, 1000, 2) is None
        assert await b.reserve("sms", now, 1000, 2) is None
        assert await a.reserve("sms", now, 1000, 2) == now + 1000
        assert await b.reserve("sms", now + 1000, 1000, 2) is None
        # three failures in a row: 2 s, 4 s, 8 s of back-off for everyone
        for _ in range(3):
            await a.provider_result("sms", ok=False, now_ms=now, base_ms=2000, max_ms=60_000)
        assert await b.reserve("sms", now + 5000, 1000, 2) == now + 8000
        await b.provider_result("sms", ok=True, now_ms=now, base_ms=0, max_ms=0)
        assert await a.reserve("sms", now + 5000, 1000, 2) is None
    finally:
        await other.dispose()


async def test_a_message_left_by_a_dead_worker_goes_out_when_its_lease_runs_out(
    responders: Responders, district: Provisioning, providers: Providers, clock: ManualClock
) -> None:
    await drill_for(responders, "pp-posko")  # channels: telegram, email
    await responders.notifier.notify(notice(district, status="exercise"), "n-1")
    service = responders.worker.service
    assert service.settings.lease_s == 30  # an alarm after a crash waits half a minute, no more
    # A worker claims the message and dies (kill -9) before it sends anything.
    claimed = await service.store.claim_deliveries(
        to_ms(clock.now()), service.settings.lease_s * 1000, 20
    )
    assert len(claimed) == 1
    clock.advance(29)
    await responders.worker.run_until_idle()
    assert providers.telegram.received == []
    clock.advance(1)
    await responders.worker.run_until_idle()
    assert len(providers.telegram.received) == 1
