"""The measurements as the store sees them: exact line protocol for each constructor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kentongan_cloud.timeseries.influx import encode, epoch_ms
from kentongan_cloud.timeseries.measurements import (
    Place,
    gateway_online,
    incident_step,
    intake_latency,
    press,
    siren,
    telemetry_points,
)
from kentongan_protocol.payloads import Telemetry

AT = datetime(2024, 3, 11, 2, 30, 15, 123456, tzinfo=UTC)
POST = Place("lamteng", "terbanggi-besar", "poncowati", "tb-poncowati-01")
WEB = Place("lamteng", "punggur", "mojopahit")
TAGS = "district=lamteng,gateway=tb-poncowati-01,kampung=poncowati,kecamatan=terbanggi-besar"
MS = 1710124215123


def line(point: object) -> str:
    (encoded,) = encode([point])  # type: ignore[list-item]
    return encoded.decode()


def test_timestamps_are_whole_milliseconds_without_float_rounding() -> None:
    assert epoch_ms(AT) == MS
    late = datetime(2286, 11, 20, 17, 46, 39, 999999, tzinfo=UTC)
    assert epoch_ms(late) == 9_999_999_999_999


def test_a_press_counts_one_with_its_kind_type_and_status() -> None:
    point = press(POST, kind="panic", incident_type="kebakaran", at=AT, historical=True)
    assert line(point) == (
        f"press,{TAGS},kind=panic,status=actual,type=kebakaran count=1i,historical=1i {MS}"
    )


def test_incident_steps_carry_the_time_since_opening() -> None:
    ack = incident_step(
        WEB,
        incident_type="pencurian",
        step="acknowledged",
        source="web",
        opened_at=AT - timedelta(seconds=95.5),
        at=AT,
    )
    assert line(ack) == (
        "incident_step,district=lamteng,kampung=mojopahit,kecamatan=punggur,source=web,"
        f"status=actual,step=acknowledged,type=pencurian count=1i,since_open_s=95.5 {MS}"
    )
    opened = incident_step(
        POST, incident_type="pencurian", step="opened", source="button", opened_at=AT, at=AT
    )
    # A whole number of seconds stays a float field (no "i"): the field never changes type.
    assert line(opened).endswith(f" count=1i,since_open_s=0 {MS}")


def test_an_escalation_names_its_tier() -> None:
    point = incident_step(
        POST,
        incident_type="pencurian",
        step="escalated",
        source="button",
        opened_at=AT - timedelta(minutes=5),
        at=AT,
        tier=2,
    )
    assert ",step=escalated,tier=2," in line(point)
    with pytest.raises(ValueError, match="tier"):
        incident_step(
            POST, incident_type="x", step="escalated", source="button", opened_at=AT, at=AT
        )


def test_a_heartbeat_becomes_health_and_power_points() -> None:
    telemetry = Telemetry(
        session_id="0" * 32,
        sent_at=AT,
        clock_synced=True,
        uptime_s=3600,
        cpu_temp_c=51,
        wifi_signal_dbm=-67,
        power="battery",
        battery_low=True,
        on_duty=True,
        outbox_depth=3,
        shed_count=0,
    )
    health, power = telemetry_points(POST, telemetry, received_at=AT, heartbeat_gap_s=31.25)
    assert line(health) == (
        f"gateway_health,{TAGS} cpu_temp_c=51,heartbeat_gap_s=31.25,on_duty=1i,"
        f"outbox_depth=3i,shed_count=0i,signal_dbm=-67i,tamper=0i,uptime_s=3600i {MS}"
    )
    assert line(power) == f"power,{TAGS} battery_low=1i,mains=0i {MS}"


def test_unknown_power_leaves_the_mains_field_out() -> None:
    telemetry = Telemetry(
        session_id="0" * 32,
        sent_at=AT,
        clock_synced=False,
        uptime_s=5,
        outbox_depth=0,
        shed_count=0,
    )
    _, power = telemetry_points(POST, telemetry, received_at=AT)
    assert line(power) == f"power,{TAGS} battery_low=0i {MS}"


def test_online_state_siren_and_intake_latency() -> None:
    assert line(gateway_online(POST, online=False, reason="will", at=AT)) == (
        f"gateway_online,{TAGS},reason=will online=0i {MS}"
    )
    assert line(siren(POST, on=True, trigger="area_alarm", duration_s=120, at=AT)) == (
        f"siren,action=on,{TAGS},trigger=area_alarm count=1i,duration_s=120i {MS}"
    )
    latency = intake_latency(
        POST,
        source="button",
        occurred_at=AT - timedelta(milliseconds=250),
        received_at=AT - timedelta(milliseconds=40),
        committed_at=AT,
    )
    assert line(latency) == (
        f"intake,{TAGS},source=button commit_s=0.04,count=1i,end_to_end_s=0.25 {MS}"
    )


def test_places_refuse_values_that_are_not_ids() -> None:
    with pytest.raises(ValueError, match="kecamatan"):
        Place("lamteng", "Terbanggi Besar", "poncowati")
    with pytest.raises(ValueError, match="gateway"):
        press(WEB, kind="panic", at=AT)
