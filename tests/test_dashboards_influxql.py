"""Every InfluxQL query of the committed dashboards, run on the real influxd 1.6.7.

A small scenario of two WIB days (11 and 12 March 2024) is written by the real writer,
through influxdb-client, gzip-compressed, into influxd (its bytes pass a `/api/v2/write` shim
unchanged). Each query, with Grafana's macros filled in, must return exactly the values
worked out by hand below. Points just outside the range, exercises and tests are there to
prove that the filters leave them out; incidents at 23:30 and 00:30 WIB prove the WIB days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kentongan_cloud.grafana.dashboards.queries import INFLUX_UID
from kentongan_cloud.ports import TimePoint
from kentongan_cloud.timeseries import TimeSeriesWriter, WriterOptions, open_writer
from kentongan_cloud.timeseries.measurements import (
    Place,
    gateway_online,
    incident_step,
    intake_latency,
    power_state,
    press,
    siren,
    telemetry_points,
)
from kentongan_protocol.payloads import Telemetry
from kentongan_testkit.dashboards import Target, fill_influxql, targets
from kentongan_testkit.tsdb import InfluxdProcess, V2WriteShim

DB = "kentongan"
START = datetime(2024, 3, 10, 17, 0, tzinfo=UTC)  # 11 March 00:00 WIB
END = datetime(2024, 3, 12, 16, 59, 59, 999000, tzinfo=UTC)  # 12 March 23:59:59.999 WIB
INTERVAL = "12h"
D1, D2 = 1710090000000, 1710176400000  # WIB days 11 and 12 March
T = [1710072000000, 1710115200000, 1710158400000, 1710201600000, 1710244800000]  # 12h buckets
N = None

A = Place("lamteng", "terbanggi-besar", "poncowati", "tb-poncowati-01")
B = Place("lamteng", "terbanggi-besar", "adi-jaya", "tb-adi-jaya-01")
C = Place("lamteng", "punggur", "toto-katon", "pg-toto-katon-01")
WEB = Place("lamteng", "punggur", "mojopahit")


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, second, tzinfo=UTC)


def incident(
    place: Place,
    kind: str,
    opened: datetime,
    steps: dict[str, float],
    *,
    source: str = "button",
    status: str = "actual",
) -> list[TimePoint]:
    """The opened step plus each later step `seconds` after opening (tier in the step name)."""
    points = []
    for step, seconds in {"opened": 0.0, **steps}.items():
        name, _, tier = step.partition(":")
        points.append(
            incident_step(
                place,
                incident_type=kind,
                step=name,  # type: ignore[arg-type]
                source=source,  # type: ignore[arg-type]
                status=status,  # type: ignore[arg-type]
                opened_at=opened,
                at=opened + timedelta(seconds=seconds),
                tier=int(tier) if tier else None,
            )
        )
    return points


def heartbeat(
    place: Place,
    at: datetime,
    *,
    gap: float,
    outbox: int,
    cpu: float,
    signal: int,
    duty: bool,
    power: str,
    battery_low: bool = False,
) -> list[TimePoint]:
    telemetry = Telemetry(
        session_id="a" * 32,
        sent_at=at,
        clock_synced=True,
        uptime_s=3600,
        cpu_temp_c=cpu,
        wifi_signal_dbm=signal,
        power=power,
        battery_low=battery_low,
        on_duty=duty,
        outbox_depth=outbox,
        shed_count=0,
    )
    return telemetry_points(place, telemetry, received_at=at, heartbeat_gap_s=gap)


def scenario() -> list[TimePoint]:
    p: list[TimePoint] = []
    # Incidents. I1 opens 23:30 WIB on the 11th and resolves 00:00 WIB on the 12th.
    p += incident(
        A, "pencurian", utc(11, 16, 30), {"acknowledged": 60, "dispatched": 300, "resolved": 1800}
    )
    # I2 opens 00:30 WIB on the 12th.
    p += incident(
        C, "kebakaran", utc(11, 17, 30), {"acknowledged": 30, "dispatched": 120, "resolved": 3600}
    )
    # I3, a resident's web report, escalates twice before anyone acknowledges.
    p += incident(
        WEB,
        "pencurian",
        utc(11, 2),
        {"escalated:1": 600, "escalated:2": 1200, "acknowledged": 900},
        source="web",
    )
    p += incident(B, "darurat_medis", utc(12, 5), {"acknowledged": 90, "resolved": 600})
    # An exercise, and an incident opened one second before the range (acknowledged inside).
    p += incident(A, "kebakaran", utc(11, 3), {"acknowledged": 10}, status="exercise")
    p += incident(A, "pencurian", utc(10, 16, 59, 59), {"acknowledged": 20})

    # Heartbeats (with power), one outside the range.
    p += heartbeat(A, utc(11, 1), gap=30, outbox=0, cpu=50, signal=-60, duty=True, power="mains")
    p += heartbeat(
        A, utc(11, 1, 0, 30), gap=30, outbox=2, cpu=55, signal=-70, duty=False, power="mains"
    )
    p += heartbeat(
        A, utc(11, 13), gap=600, outbox=5, cpu=61.5, signal=-65, duty=True, power="mains"
    )
    p += heartbeat(
        B, utc(11, 2), gap=45.5, outbox=1, cpu=48, signal=-80, duty=False, power="battery"
    )
    p += heartbeat(
        B,
        utc(12, 3),
        gap=30,
        outbox=0,
        cpu=47,
        signal=-82,
        duty=False,
        power="battery",
        battery_low=True,
    )
    p += heartbeat(
        C,
        utc(10, 16),
        gap=999,
        outbox=9,
        cpu=99,
        signal=-99,
        duty=True,
        power="battery",
        battery_low=True,
    )
    p += heartbeat(C, utc(12, 14), gap=31, outbox=0, cpu=70, signal=-90, duty=True, power="unknown")
    p.append(power_state(A, at=utc(12, 10), mains=False, battery_low=None))  # PLN padam

    # Online state.
    p.append(gateway_online(C, online=True, reason="birth", at=utc(10, 10)))
    p.append(gateway_online(A, online=False, reason="will", at=utc(11, 6)))
    p.append(gateway_online(A, online=True, reason="birth", at=utc(11, 7)))
    p.append(gateway_online(C, online=False, reason="heartbeat_timeout", at=utc(11, 20)))
    p.append(gateway_online(B, online=False, reason="heartbeat_timeout", at=utc(12, 13)))

    # Intake latency: three live events on the 11th (UTC), one live and one historical later.
    for at, seconds in (
        (utc(11, 1), 0.25),
        (utc(11, 2), 0.5),
        (utc(11, 3), 1.5),
        (utc(12, 5), 0.3),
    ):
        p.append(
            intake_latency(
                A,
                source="button",
                occurred_at=at - timedelta(seconds=seconds),
                received_at=at - timedelta(seconds=0.01),
                committed_at=at,
            )
        )
    p.append(
        intake_latency(
            B, source="button", received_at=utc(12, 6, 0, 1), committed_at=utc(12, 6, 0, 2)
        )
    )

    # Sirens.
    p.append(siren(A, on=True, trigger="local", duration_s=120, at=utc(11, 16, 30, 1)))
    p.append(siren(A, on=False, trigger="local", at=utc(11, 16, 32)))
    p.append(siren(B, on=True, trigger="area_alarm", duration_s=300, at=utc(11, 17, 31)))
    p.append(siren(C, on=True, trigger="area_alarm", duration_s=300, at=utc(11, 17, 31)))
    p.append(siren(A, on=True, trigger="test", duration_s=3, at=utc(11, 3)))
    p.append(siren(C, on=True, trigger="test", duration_s=3, at=utc(12, 9)))

    # Presses: duty check-ins (one outside the range), a check-out, tests, panics.
    for place, at in (
        (A, utc(11, 12)),
        (A, utc(12, 12)),
        (B, utc(11, 13)),
        (C, utc(11, 18)),
        (C, utc(10, 12)),
    ):
        p.append(press(place, kind="duty_check_in", at=at))
    p.append(press(A, kind="duty_check_out", at=utc(11, 22)))
    for place, at in ((A, utc(11, 4)), (A, utc(12, 4)), (C, utc(11, 5))):
        p.append(press(place, kind="panic", incident_type="pencurian", status="test", at=at))
    p.append(press(A, kind="panic", incident_type="pencurian", at=utc(11, 16, 29, 58)))
    p.append(press(A, kind="panic", incident_type="pencurian", at=utc(11, 16, 30, 40)))
    p.append(press(C, kind="panic", incident_type="kebakaran", at=utc(11, 17, 29, 59)))
    p.append(press(B, kind="panic", incident_type="darurat_medis", at=utc(12, 4, 59, 59)))
    p.append(press(A, kind="panic", incident_type="kebakaran", status="exercise", at=utc(11, 3)))
    return p


PK, KP, AR = "kentongan-pusat-komando", "kentongan-kesehatan-perangkat", "kentongan-aktivitas-ronda"
GW_A, GW_B, GW_C = "gateway=tb-poncowati-01", "gateway=tb-adi-jaya-01", "gateway=pg-toto-katon-01"

# (dashboard, panel, refId) → {series tags: rows}; every series has columns time + values.
EXPECTED: dict[tuple[str, str, str], dict[str, list[list[Any]]]] = {
    (PK, "Insiden dalam rentang waktu", "A"): {"": [[D1, 4]]},
    (PK, "Insiden per hari menurut jenis", "A"): {
        "type=darurat_medis": [[D1, 0], [D2, 1]],
        "type=kebakaran": [[D1, 0], [D2, 1]],
        "type=pencurian": [[D1, 2], [D2, 0]],
    },
    (PK, "Insiden per hari menurut kecamatan", "A"): {
        "kecamatan=punggur": [[D1, 1], [D2, 1]],
        "kecamatan=terbanggi-besar": [[D1, 1], [D2, 1]],
    },
    (PK, "Waktu sampai diakui (p50/p90)", "A"): {"": [[D1, 60, 900], [D2, 30, 90]]},
    (PK, "Waktu sampai diberangkatkan (p50/p90)", "A"): {"": [[D1, 300, 300], [D2, 120, 120]]},
    (PK, "Waktu sampai selesai (p50/p90)", "A"): {"": [[D1, N, N], [D2, 1800, 3600]]},
    (PK, "Eskalasi per hari menurut tingkat", "A"): {
        "tier=1": [[D1, 1], [D2, 0]],
        "tier=2": [[D1, 1], [D2, 0]],
    },
    (KP, "Pos yang mengirim heartbeat", "A"): {
        "": [[T[0], 0], [T[1], 2], [T[2], 1], [T[3], 1], [T[4], 1]]
    },
    (KP, "Status online per pos", "A"): {
        GW_C: [[T[0], N], [T[1], N], [T[2], 0], [T[3], 0], [T[4], 0]],
        GW_B: [[T[0], N], [T[1], N], [T[2], N], [T[3], N], [T[4], 0]],
        GW_A: [[T[0], N], [T[1], 1], [T[2], 1], [T[3], 1], [T[4], 1]],
    },
    (KP, "Pos offline per hari", "A"): {
        "kecamatan=punggur": [[D1, 0], [D2, 1]],
        "kecamatan=terbanggi-besar": [[D1, 1], [D2, 1]],
    },
    (KP, "Jeda heartbeat terpanjang", "A"): {
        GW_C: [[T[0], N], [T[1], N], [T[2], N], [T[3], N], [T[4], 31]],
        GW_B: [[T[0], N], [T[1], 45.5], [T[2], N], [T[3], 30], [T[4], N]],
        GW_A: [[T[0], N], [T[1], 30], [T[2], 600], [T[3], N], [T[4], N]],
    },
    (KP, "Antrian outbox gateway", "A"): {
        GW_C: [[T[0], N], [T[1], N], [T[2], N], [T[3], N], [T[4], 0]],
        GW_B: [[T[0], N], [T[1], 1], [T[2], N], [T[3], 0], [T[4], N]],
        GW_A: [[T[0], N], [T[1], 2], [T[2], 5], [T[3], N], [T[4], N]],
    },
    (KP, "Listrik PLN per pos", "A"): {
        GW_B: [[T[0], N], [T[1], 0], [T[2], 0], [T[3], 0], [T[4], 0]],
        GW_A: [[T[0], N], [T[1], 1], [T[2], 1], [T[3], 0], [T[4], 0]],
    },
    (KP, "Aki lemah per pos", "A"): {
        GW_C: [[T[0], N], [T[1], N], [T[2], N], [T[3], N], [T[4], 0]],
        GW_B: [[T[0], N], [T[1], 0], [T[2], 0], [T[3], 1], [T[4], 1]],
        GW_A: [[T[0], N], [T[1], 0], [T[2], 0], [T[3], 0], [T[4], 0]],
    },
    (KP, "Suhu CPU", "A"): {
        GW_C: [[T[0], N], [T[1], N], [T[2], N], [T[3], N], [T[4], 70]],
        GW_B: [[T[0], N], [T[1], 48], [T[2], N], [T[3], 47], [T[4], N]],
        GW_A: [[T[0], N], [T[1], 55], [T[2], 61.5], [T[3], N], [T[4], N]],
    },
    (KP, "Sinyal", "A"): {
        GW_C: [[T[0], N], [T[1], N], [T[2], N], [T[3], N], [T[4], -90]],
        GW_B: [[T[0], N], [T[1], -80], [T[2], N], [T[3], -82], [T[4], N]],
        GW_A: [[T[0], N], [T[1], -65], [T[2], -65], [T[3], N], [T[4], N]],
    },
    (KP, "Latensi intake (p50/p90/maks)", "A"): {
        "": [
            [T[0], N, N, N],
            [T[1], 0.5, 1.5, 1.5],
            [T[2], N, N, N],
            [T[3], 0.3, 0.3, 0.3],
            [T[4], N, N, N],
        ],
    },
    (KP, "Aktivitas sirene per hari", "A"): {
        "trigger=area_alarm": [[D1, 0], [D2, 2]],
        "trigger=local": [[D1, 1], [D2, 0]],
        "trigger=test": [[D1, 1], [D2, 1]],
    },
    (AR, "Check-in piket", "A"): {"": [[D1, 4]]},
    (AR, "Uji tombol", "A"): {"": [[D1, 3]]},
    (AR, "Uji sirene", "A"): {"": [[D1, 2]]},
    (AR, "Pos dijaga", "A"): {"": [[T[0], N], [T[1], 1], [T[2], 1], [T[3], 0], [T[4], 1]]},
    (AR, "Check-in piket per hari menurut kecamatan", "A"): {
        "kecamatan=punggur": [[D1, 0], [D2, 1]],
        "kecamatan=terbanggi-besar": [[D1, 2], [D2, 1]],
    },
    (AR, "Check-in piket per pos", "A"): {GW_C: [[D1, 1]], GW_B: [[D1, 1]], GW_A: [[D1, 2]]},
    (AR, "Uji tombol per pos", "A"): {GW_C: [[D1, 1]], GW_A: [[D1, 2]]},
    (AR, "Uji sirene per pos", "A"): {GW_C: [[D1, 1]], GW_A: [[D1, 1]]},
    (AR, "Tombol darurat per hari menurut jenis", "A"): {
        "type=darurat_medis": [[D1, 0], [D2, 1]],
        "type=kebakaran": [[D1, 0], [D2, 1]],
        "type=pencurian": [[D1, 2], [D2, 0]],
    },
}

INFLUX_TARGETS = [t for t in targets() if t.datasource == INFLUX_UID]


@pytest.fixture(scope="module")
def loaded(
    influxd: InfluxdProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[InfluxdProcess, V2WriteShim, int]]:
    """influxd holding the scenario, written by the real writer through influxdb-client."""
    influxd.create_database(DB)
    shim = V2WriteShim(influxd)
    points = scenario()
    writer = writer_to(shim, tmp_path_factory.mktemp("spool") / "spool.sqlite", batch_size=40)
    writer.write(points)
    stats = writer.close()
    assert (stats.written, stats.dropped, stats.spool_points) == (len(points), 0, 0)
    yield influxd, shim, len(points)
    shim.close()


def writer_to(shim: V2WriteShim, spool: Path, *, batch_size: int) -> TimeSeriesWriter:
    options = WriterOptions(
        spool_path=spool,
        batch_size=batch_size,
        flush_interval_s=0.1,
        retry_initial_s=0.05,
        retry_max_s=0.2,
    )
    return open_writer(url=shim.url, token="t0ken", org="kentongan", bucket=DB, options=options)


def series_of(result: dict[str, Any]) -> dict[str, list[list[Any]]]:
    (statement,) = result["results"]
    assert "error" not in statement, statement
    out = {}
    for series in statement.get("series", []):
        tags = ",".join(f"{k}={v}" for k, v in sorted(series.get("tags", {}).items()))
        assert tags not in out
        out[tags] = series["values"]
    return out


def test_the_writer_sent_gzip_line_protocol_in_milliseconds(
    loaded: tuple[InfluxdProcess, V2WriteShim, int],
) -> None:
    _, shim, count = loaded
    assert {(w.bucket, w.precision, w.content_encoding) for w in shim.writes} == {
        (DB, "ms", "gzip")
    }
    assert {w.authorization for w in shim.writes} == {"Token t0ken"}
    lines = [line for w in shim.writes for line in w.body.split(b"\n")]
    assert len(lines) == count
    assert len(shim.writes) == -(-count // 40)


def test_every_influxql_query_has_an_expected_result() -> None:
    assert sorted(t.key for t in INFLUX_TARGETS) == sorted(EXPECTED)


@pytest.mark.parametrize("target", INFLUX_TARGETS, ids=lambda t: f"{t.dashboard}:{t.panel}")
def test_the_query_returns_exactly_the_expected_values(
    loaded: tuple[InfluxdProcess, V2WriteShim, int], target: Target
) -> None:
    influxd, _, _ = loaded
    query = fill_influxql(target.text, START, END, INTERVAL)
    assert series_of(influxd.query(query, DB)) == EXPECTED[target.key]


def test_a_batch_the_store_refuses_is_counted_and_the_writer_goes_on(
    loaded: tuple[InfluxdProcess, V2WriteShim, int], tmp_path: Path
) -> None:
    influxd, shim, _ = loaded
    influxd.create_database("conflicts")
    options = WriterOptions(
        spool_path=tmp_path / "spool.sqlite",
        batch_size=1,
        flush_interval_s=0.1,
        retry_initial_s=0.05,
        retry_max_s=0.2,
    )
    writer = open_writer(url=shim.url, token="t", org="k", bucket="conflicts", options=options)
    at = utc(11, 1)
    as_int = TimePoint(measurement="press", fields={"count": 1}, time=at)
    as_float = TimePoint(measurement="press", fields={"count": 1.5}, time=at)
    writer.write([as_int])
    assert writer.flush(timeout=30)
    writer.write([as_float])  # a field that changes type: influxd answers 400
    assert writer.flush(timeout=30)
    writer.write([as_int])
    stats = writer.close()
    assert (stats.written, stats.rejected, stats.dropped, stats.spool_points) == (2, 1, 1, 0)
