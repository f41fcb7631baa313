"""Nobody acknowledges → the next person, then the command centre, at the configured times
(ack_timeout_s 180, max_rounds 3 in the sample district); timers live in the database."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from kentongan_cloud.responders import ManualClock, Responders, build_responders
from kentongan_cloud.responders.clock import to_ms
from kentongan_cloud.store.base import make_engine
from kentongan_cloud.store.responders import Engine
from kentongan_protocol.provisioning.tree import Provisioning

from .conftest import WEBHOOK_SECRETS, Providers
from .support import MONDAY_NIGHT, notice

pytestmark = pytest.mark.anyio


async def run_for(clock: ManualClock, workers: list[Responders], minutes: int) -> None:
    """Let time pass minute by minute, with every worker sweeping at each minute."""
    for _ in range(minutes * 2):
        clock.advance(30)
        await asyncio.gather(*(w.worker.run_until_idle() for w in workers))


async def timeline(r: Responders, incident_id: str = "inc-0001") -> list[tuple[int, str, str, str]]:
    """(seconds after the press, person, kind, channel) of every message sent."""
    start = to_ms(MONDAY_NIGHT)
    return sorted(
        ((to_ms(a.at) - start) // 1000, a.person_id, a.kind, a.channel_type)
        for a in await r.acks.delivery_log(incident_id)
        if a.outcome == "sent"
    )


def show(rows: list[tuple[int, str, str, str]]) -> str:
    return "\n".join(
        f"+{s // 60:02d}:{s % 60:02d} (21:{s // 60:02d} WIB) {kind:<10} {person:<22} via {ch}"
        for s, person, kind, ch in rows
    )


async def test_nobody_answers_escalation_reaches_the_command_centre_on_time(
    responders: Responders, district: Provisioning, clock: ManualClock
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await responders.worker.run_until_idle()
    await run_for(clock, [responders], 20)
    rows = await timeline(responders)
    print("\n--- escalation timeline (nobody answers) ---\n" + show(rows))
    assert rows == sorted(
        [
            (0, "gs-bhabin-terbanggi", "alert", "whatsapp"),
            (0, "rt-buyut-udik-03", "alert", "whatsapp"),
            (0, "pp-danru-malam", "alert", "whatsapp"),
            (0, "cc-dashboard", "alert", "webhook"),
            # after ack_timeout_s (180 s): the next person in each agency
            (180, "gs-piket-spkt", "alert", "whatsapp"),
            (180, "rt-putra-buyut-02", "alert", "sms"),
            (180, "pp-posko", "alert", "telegram"),
            (360, "gs-bhabin-buyut", "alert", "whatsapp"),
            (360, "rt-buyut-udik-03", "reminder", "whatsapp"),
            (360, "rt-putra-buyut-02", "reminder", "sms"),
            (360, "pp-danru-pagi", "alert", "whatsapp"),
            # after max_rounds (3) rounds: the kabupaten command centre, on-call operator first
            (540, "cc-operator-malam", "escalation", "telegram"),
            (540, "cc-dashboard", "escalation", "webhook"),
            (720, "cc-supervisor", "escalation", "whatsapp"),
            (900, "cc-operator-pagi", "escalation", "telegram"),
        ]
    )
    async with responders.store.begin() as tx:
        row = await tx.incident("inc-0001")
    assert row is not None
    assert row.status == "unanswered"
    assert row.next_due_ms is None


async def test_escalation_message_names_who_did_not_answer(
    responders: Responders, district: Provisioning, clock: ManualClock, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await run_for(clock, [responders], 10)
    (msg,) = providers.telegram.to("100000036")
    print("\n--- Telegram (escalation) ---\n" + msg.text)
    assert msg.text.splitlines()[0] == "KENTONGAN - ESKALASI PENCURIAN / MALING"
    assert (
        "Belum ada yang menerima dari: Polsek Gunung Sugih, Satpol PP Kabupaten Lampung Tengah"
    ) in msg.text
    assert msg.doc["reply_markup"]["inline_keyboard"][0][0]["text"] == "\u2705 Terima"


async def test_an_acknowledgement_stops_that_agency_only(
    responders: Responders, district: Provisioning, clock: ManualClock, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await responders.worker.run_until_idle()
    clock.advance(60)
    code = providers.whatsapp.to("+6281200000002")[0].text.rsplit(" ", 1)[1]
    outcome = await responders.acks.by_reply("whatsapp", "+6281200000002", f"terima {code}")
    assert outcome.ok
    await run_for(clock, [responders], 20)
    people = {p for _, p, _, _ in await timeline(responders)}
    assert "gs-piket-spkt" not in people  # police answered: no next police officer
    assert "pp-posko" in people  # Satpol PP did not
    cc = providers.telegram.to("100000036")
    assert len(cc) == 1
    assert "Belum ada yang menerima dari: Satpol PP Kabupaten Lampung Tengah" in cc[0].text
    (ack,) = await responders.acks.acknowledgements("inc-0001")
    assert (ack.person_name, ack.channel, ack.first) == ("Brigpol Dedi Kurniawan", "whatsapp", True)
    assert ack.at == MONDAY_NIGHT.replace(minute=1)


async def test_the_command_centre_answering_ends_escalation(
    responders: Responders, district: Provisioning, clock: ManualClock, providers: Providers
) -> None:
    await responders.notifier.notify(notice(district), "n-1")
    await run_for(clock, [responders], 10)
    (msg,) = providers.telegram.to("100000036")
    code = msg.text.rsplit(" ", 1)[1]
    assert (await responders.acks.by_reply("telegram", "100000036", f"TERIMA {code}")).ok
    await run_for(clock, [responders], 20)
    assert [p for s, p, _, _ in await timeline(responders) if s > 600] == []


async def test_a_restart_loses_no_timer_and_two_workers_send_nothing_twice(
    engine: Engine,
    db_url: str,
    district: Provisioning,
    clock: ManualClock,
    providers: Providers,
    responders: Responders,
) -> None:
    # The first process queues the alert and stops before sending anything.
    await responders.notifier.notify(notice(district), "n-1")
    await responders.aclose()
    # Two fresh workers on their own connections share the same database.
    engines = [make_engine(db_url) for _ in range(2)]
    workers = [
        await build_responders(
            e,
            district.district,
            responders.settings,
            env=WEBHOOK_SECRETS,
            clock=clock,
            create_tables=False,
        )
        for e in engines
    ]
    try:
        await asyncio.gather(*(w.worker.run_until_idle() for w in workers))
        await run_for(clock, workers, 20)
        rows = await timeline(workers[0])
    finally:
        for w, e in zip(workers, engines, strict=True):
            await w.aclose()
            await e.dispose()
    sent = Counter((p, kind, s) for s, p, kind, _ in rows)
    assert max(sent.values()) == 1
    assert len(rows) == 15  # the same fifteen messages as with one worker
    received = Counter(r.to for r in providers.whatsapp.received)
    assert received["+6281200000002"] == 1
    assert [p for s, p, _, _ in rows if s == 540] == ["cc-dashboard", "cc-operator-malam"]
