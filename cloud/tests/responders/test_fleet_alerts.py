"""Technicians' alerts on the sample district: who is told (area and shift), on which channel
(the first that works), once per outbox key; a district without technicians is recorded,
not retried forever; and incidents never page technicians."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from kentongan_cloud.ports import FleetAlert
from kentongan_cloud.responders import ManualClock, ResponderSettings
from kentongan_cloud.responders.build import build_channels
from kentongan_cloud.responders.errors import FleetAlertError
from kentongan_cloud.responders.fleet_alerts import FleetAlerts, technicians_for
from kentongan_cloud.responders.routing import plan
from kentongan_cloud.store.fleet_alerts import NOBODY, FleetAlertLog
from kentongan_cloud.store.responders import Engine
from kentongan_protocol.provisioning.district import District
from kentongan_protocol.provisioning.tree import Provisioning, load_tree
from sqlalchemy import event

from .conftest import WEBHOOK_SECRETS, Mailbox, Providers, make_settings
from .support import MONDAY_NIGHT, TUESDAY_MORNING, notice

pytestmark = pytest.mark.anyio
KEY = "fleet:sb-setia-bumi-01:offline:2024-05-06T13:40:00+00:00"


def fleet_alert(
    prov: Provisioning, gateway: str = "sb-setia-bumi-01", kind: str = "offline", **kw: object
) -> FleetAlert:
    gw = prov.gateways[gateway].gateway
    kec, _ = prov.district.kampung_by_id()[gw.kampung]
    fields: dict[str, object] = {
        "gateway_id": gw.gateway_id,
        "post_name": gw.post_name,
        "kecamatan": kec.id,
        "kampung": gw.kampung,
        "kind": kind,
        "raised_at": MONDAY_NIGHT - timedelta(minutes=20),
        "text": "Gateway offline (tidak terhubung)",
    }
    return FleetAlert.model_validate(fields | kw)


def sink(
    district: District, engine: Engine, settings: ResponderSettings, clock: ManualClock
) -> FleetAlerts:
    channels = build_channels(settings, WEBHOOK_SECRETS)
    return FleetAlerts(district, channels, FleetAlertLog(engine), clock)


@pytest.fixture
async def alerts(
    district: Provisioning, engine: Engine, settings: ResponderSettings, clock: ManualClock
) -> AsyncIterator[FleetAlerts]:
    """The sink on the sample district, its channels on the fake providers."""
    made = sink(district.district, engine, settings, clock)
    yield made
    for adapter in made.channels.values():
        await adapter.aclose()


def told(district: Provisioning, gateway: str, when: datetime) -> list[str]:
    return [p.id for p in technicians_for(district.district, fleet_alert(district, gateway), when)]


def test_technicians_covering_the_post_on_shift_are_told(district: Provisioning) -> None:
    # Seputih Banyak has its own technician besides the kabupaten's.
    assert told(district, "sb-setia-bumi-01", MONDAY_NIGHT) == ["tek-kab-malam", "tek-sb-andi"]
    assert told(district, "sb-setia-bumi-01", TUESDAY_MORNING) == ["tek-kab-pagi", "tek-sb-andi"]
    assert told(district, "gs-komering-putih-01", TUESDAY_MORNING) == ["tek-kab-pagi"]


def test_incidents_never_page_technicians(district: Provisioning) -> None:
    technicians = {a.id for a in district.district.agencies if a.kind == "technician"}
    assert technicians
    for gateway in district.gateways:
        for itype in district.district.incident_types:
            p = plan(
                district.district,
                notice(district, gateway=gateway, incident_type=itype),
                MONDAY_NIGHT,
            )
            assert not {t.agency_id for t in p.tracks} & technicians, (gateway, itype)


async def test_one_message_per_technician_in_wib_and_a_repeat_sends_nothing(
    alerts: FleetAlerts, district: Provisioning, clock: ManualClock, providers: Providers
) -> None:
    alert = fleet_alert(district)
    await alerts.alert(alert, KEY)
    # Night: the kabupaten's night technician by Telegram, Andi by WhatsApp.
    [tg] = providers.telegram.received
    [wa] = providers.whatsapp.received
    assert tg.to == "100000039"
    assert wa.to == "+6281200000040"
    for text in (tg.text, wa.text):
        assert "GANGGUAN PERANGKAT" in text
        assert alert.post_name in text
        assert "Kp. Setia Bumi, Kec. Seputih Banyak" in text
        assert "Gateway offline" in text
        assert "Sejak: 06/05 20:40 WIB (20 menit lalu)" in text
    assert "reply_markup" not in tg.doc  # nothing to acknowledge
    await alerts.alert(alert, KEY)  # the outbox delivers again after a crash
    assert len(providers.telegram.received) == len(providers.whatsapp.received) == 1
    rows = await alerts.log.rows("sb-setia-bumi-01")
    assert [(r["person_id"], r["outcome"], r["channel_type"]) for r in rows] == [
        ("tek-kab-malam", "sent", "telegram"),
        ("tek-sb-andi", "sent", "whatsapp"),
    ]


async def test_a_person_not_reached_is_retried_alone(
    alerts: FleetAlerts, district: Provisioning, clock: ManualClock, providers: Providers
) -> None:
    alert = fleet_alert(district)
    providers.telegram.script.fail(1, status=503)  # the night technician: Telegram down...
    providers.sms.script.fail(1, status=503)  # ...and the SMS gateway too
    with pytest.raises(FleetAlertError, match="tek-kab-malam not reached"):
        await alerts.alert(alert, KEY)
    assert [r.to for r in providers.whatsapp.received] == ["+6281200000040"]  # Andi was told
    clock.advance(60)
    await alerts.alert(alert, KEY)  # the outbox's retry: only the night technician is left
    await alerts.alert(alert, KEY)
    assert [r.to for r in providers.telegram.received] == ["100000039"]
    assert len(providers.whatsapp.received) == 1
    assert providers.sms.received == []


async def test_a_district_without_technicians_records_the_alert_as_unsent(
    config_tree: Path,
    engine: Engine,
    settings: ResponderSettings,
    clock: ManualClock,
    providers: Providers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = config_tree / "district.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["agencies"] = [a for a in doc["agencies"] if a["kind"] != "technician"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    prov = load_tree(config_tree)
    alerts = sink(prov.district, engine, settings, clock)
    await alerts.alert(fleet_alert(prov), KEY)  # returns: the outbox row is done
    await alerts.alert(fleet_alert(prov), KEY)
    assert "NOT SENT" in caplog.text
    [row] = await alerts.log.rows()
    assert (row["person_id"], row["outcome"]) == (NOBODY, "nobody")
    assert "no technician agency covers kecamatan seputih-banyak" in row["detail"]
    assert providers.whatsapp.attempts == providers.telegram.attempts == 0
    for adapter in alerts.channels.values():
        await adapter.aclose()


async def test_a_technician_without_a_configured_provider_is_recorded_not_retried(
    district: Provisioning,
    engine: Engine,
    clock: ManualClock,
    providers: Providers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The night technician has Telegram and SMS; this process has neither provider. Andi's
    # WhatsApp works: he is told, and the alert does not raise (no retry could reach the
    # other one until the configuration changes).
    settings = make_settings(providers, telegram=None, sms=None)
    alerts = sink(district.district, engine, settings, clock)
    alert = fleet_alert(district)
    await alerts.alert(alert, KEY)
    await alerts.alert(alert, KEY)  # a repeated delivery records nothing new
    assert "NOT SENT" in caplog.text
    assert [r.to for r in providers.whatsapp.received] == ["+6281200000040"]
    assert providers.telegram.attempts == providers.sms.attempts == 0
    rows = await alerts.log.rows("sb-setia-bumi-01")
    assert [(r["person_id"], r["outcome"]) for r in rows] == [
        ("tek-kab-malam", "unconfigured"),
        ("tek-sb-andi", "sent"),
    ]
    assert "(sms, telegram)" in rows[0]["detail"]
    for adapter in alerts.channels.values():
        await adapter.aclose()


async def test_a_run_of_unsent_alerts_is_one_error_and_then_a_count(
    district: Provisioning,
    engine: Engine,
    clock: ManualClock,
    providers: Providers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A battery alarm at 30 posts, with the night technician's providers not configured:
    # every alert is recorded, the log says it once, then how many followed.
    settings = make_settings(providers, telegram=None, sms=None)
    alerts = sink(district.district, engine, settings, clock)
    alert = fleet_alert(district, kind="battery_low")
    for i in range(30):
        await alerts.alert(alert, f"{KEY}:{i}")

    def unsent() -> list[str]:
        return [r.getMessage() for r in caplog.records if "NOT SENT" in r.getMessage()]

    assert len(unsent()) == 1
    clock.advance(61)
    await alerts.alert(alert, f"{KEY}:30")
    first, summary, again = unsent()
    assert "29 more posts" in summary
    assert again == first
    rows = await alerts.log.rows("sb-setia-bumi-01")
    assert sum(r["outcome"] == "unconfigured" for r in rows) == 31
    for adapter in alerts.channels.values():
        await adapter.aclose()


async def test_email_and_json_webhooks_carry_the_alert(
    alerts: FleetAlerts,
    district: Provisioning,
    clock: ManualClock,
    smtp_server: tuple[Mailbox, int],
    providers: Providers,
) -> None:
    clock.set(TUESDAY_MORNING)
    providers.whatsapp.invalid_numbers.add("6281200000038")  # not on WhatsApp
    providers.sms.script.fail(1, status=400)  # refused: the next channel, e-mail
    await alerts.alert(fleet_alert(district, "gs-komering-putih-01", "tamper"), "fleet:tamper:1")
    [mail] = smtp_server[0].messages
    assert mail.rcpt_tos == ["teknisi@lamtengkab.example.id"]
    body = mail.content.decode() if isinstance(mail.content, bytes) else str(mail.content)
    assert "Subject: KENTONGAN - GANGGUAN PERANGKAT POS di Kp. Komering Putih" in body


def commits(engine: Engine) -> list[int]:
    """A counter of the transactions committed on `engine` from now on."""
    count = [0]

    def on_commit(_conn: object) -> None:
        count[0] += 1

    event.listen(engine.sync_engine, "commit", on_commit)
    return count


async def test_a_pass_of_alerts_that_send_nothing_is_recorded_in_one_transaction(
    district: Provisioning, engine: Engine, clock: ManualClock, providers: Providers
) -> None:
    # A power cut at 20 posts, no provider configured in this process: one read of what was
    # done, one transaction for all 20 records, and a repeat of the pass writes nothing.
    alerts = sink(
        district.district,
        engine,
        make_settings(providers, telegram=None, sms=None, whatsapp=None),
        clock,
    )
    alert = fleet_alert(district, kind="mains_lost")
    batch = [(alert, f"{KEY}:{i}") for i in range(20)]
    counted = commits(engine)
    assert await alerts.alert_many(batch) == [None] * 20
    assert counted[0] == 1
    rows = await alerts.log.rows("sb-setia-bumi-01")
    assert len(rows) == 40  # two technicians cover the post
    assert {r["outcome"] for r in rows} == {"unconfigured"}
    assert await alerts.alert_many(batch) == [None] * 20
    assert counted[0] == 1
    assert len(await alerts.log.rows()) == 40
    for adapter in alerts.channels.values():
        await adapter.aclose()


async def test_in_a_pass_only_the_alert_that_failed_is_left_for_a_retry(
    alerts: FleetAlerts, district: Provisioning, clock: ManualClock, providers: Providers
) -> None:
    # Telegram and SMS down for the first alert's night technician; the second alert's
    # post (Gunung Sugih) is covered by the kabupaten alone, whose Telegram is back by then.
    providers.telegram.script.fail(1, status=503)
    providers.sms.script.fail(1, status=503)
    first = fleet_alert(district)
    second = fleet_alert(district, "gs-komering-putih-01")
    errors = await alerts.alert_many([(first, KEY), (second, f"{KEY}:gs")])
    assert isinstance(errors[0], FleetAlertError)
    assert "tek-kab-malam not reached" in str(errors[0])
    assert errors[1] is None
    # Andi (WhatsApp) was told of the first, the night technician of the second: both were
    # recorded, so the retry of the first tells only the one left.
    assert await alerts.alert_many([(first, KEY)]) == [None]
    assert [r.to for r in providers.whatsapp.received] == ["+6281200000040"]
    assert [r.to for r in providers.telegram.received] == ["100000039", "100000039"]
