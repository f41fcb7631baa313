"""Fleet health with a real Mosquitto: offline within 20 s from the matching Last Will, stale
Wills ignored, heartbeat timeouts and technicians' alerts, power, tamper and duty."""

from __future__ import annotations

import time
from typing import Any

from kentongan_cloud.clock import ManualClock
from kentongan_protocol.payloads import GatewayState
from kentongan_protocol.topics import Suffix
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness, Recorders, VirtualPost
from kentongan_testkit.plugin import ClientFactory

from tests.test_cloud_incidents import operator_token
from tests.test_cloud_intake import acked_ids

DISTRICT = "lamteng"
GW = "gs-komering-putih-01"


def gateway_row(h: CloudHarness, gid: str = GW) -> dict[str, Any]:
    [row] = h.db(lambda tx: tx.fleet.rows(gid))
    return row


def test_offline_is_known_within_20_s_from_the_matching_last_will(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    client = mqtt_client(GW, connect=False)
    post = VirtualPost(client, DISTRICT, GW)
    will = GatewayState(
        state="offline", session_id=post.session_id, firmware="0.1.0", config_hash="0" * 64
    )
    client.set_will(post.topic(Suffix.STATE), will.encode(), delay_s=5)
    client.connect()
    post.state("online")
    h.wait_for(lambda: gateway_row(h)["online"], what="online")
    assert gateway_row(h)["session_id"] == post.session_id
    lost = time.monotonic()
    client.drop()  # power cut: no DISCONNECT, the broker publishes the Will after 5 s
    h.wait_for(lambda: gateway_row(h)["online"] is False, timeout=20, what="offline in 20 s")
    row = gateway_row(h)
    assert time.monotonic() - lost < 20
    assert row["offline_reason"] == "last_will"
    assert "offline" in row["alarms"]


def test_a_will_of_an_earlier_session_is_ignored(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    h = cloud.start()
    post = VirtualPost(mqtt_client(GW), DISTRICT, GW)
    post.state("online")
    h.wait_for(lambda: gateway_row(h)["online"], what="online")
    old_session = "a" * 32
    post.state("offline", session_id=old_session)  # a late Will from before a reboot
    post.heartbeat()
    h.wait_for(lambda: gateway_row(h)["last_telemetry_at"] is not None, what="heartbeat")
    row = gateway_row(h)
    assert row["online"]
    assert row["session_id"] == post.session_id


def test_silence_marks_offline_and_alerts_technicians_once_after_minutes(
    cloud: CloudFactory, mqtt_client: ClientFactory
) -> None:
    clock = ManualClock()
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec, fleet={"offline_alert_after_min": 10})
    post = VirtualPost(mqtt_client(GW), DISTRICT, GW)
    post.heartbeat()
    h.wait_for(lambda: gateway_row(h)["online"], what="online from a heartbeat")
    clock.advance(30 * 2.5 + 1)  # heartbeat_s 30, factor 2.5
    h.wait_for(lambda: gateway_row(h)["online"] is False, what="offline")
    row = gateway_row(h)
    assert row["offline_reason"] == "heartbeat"
    assert rec.alerts.alerts == {}  # not yet: links flap
    clock.advance(10 * 60)
    alert = h.wait_for(lambda: list(rec.alerts.alerts.values()), what="technician alert")
    assert [(a.gateway_id, a.kind) for a in alert] == [(GW, "offline")]
    time.sleep(1.2)  # more sweeps pass
    assert len(rec.alerts.alerts) == 1
    post.heartbeat()
    h.wait_for(lambda: gateway_row(h)["online"], what="back online")
    assert h.db(lambda tx: tx.fleet.alarms()) == []


def test_power_tamper_and_duty_are_tracked(cloud: CloudFactory, mqtt_client: ClientFactory) -> None:
    rec = Recorders()
    h = cloud.start(recorders=rec)
    post = VirtualPost(mqtt_client(GW), DISTRICT, GW)
    post.listen()
    post.heartbeat(power="battery", tamper=True, cpu_temp_c=61.5)
    h.wait_for(lambda: len(rec.alerts.alerts) == 2, what="alerts")
    alerts = rec.alerts.alerts
    assert {a.kind for a in alerts.values()} == {"mains_lost", "tamper"}
    post.send(post.event("duty_check_in", input="tombol_piket"))
    acked_ids(post, 1)
    token = operator_token(h, role="technician")
    r = h.api("GET", f"/api/v1/fleet/{GW}", token=token)
    assert r.status_code == 200, r.text
    gw = r.json()
    assert gw["staffed"] is True
    assert gw["online"] is True
    assert sorted(gw["alarms"]) == ["mains_lost", "tamper"]
    assert gw["last_telemetry"]["cpu_temp_c"] == 61.5
    assert gw["sessions"][0]["received"] == 1
    post.send(post.event("tamper_closed", input="tamper_box"))
    acked_ids(post, 1)
    open_alarms = h.api("GET", "/api/v1/fleet/alarms", token=token).json()
    assert [a["kind"] for a in open_alarms] == ["mains_lost"]
