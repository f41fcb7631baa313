"""The time-series writer against a real victoria-metrics, through influxdb-client's write path.

victoria-metrics stands in for InfluxDB 2 here: it serves `/api/v2/write` and keeps numeric
fields at millisecond precision. An outage is a real server stopped and started again.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kentongan_cloud.ports import TimePoint
from kentongan_cloud.timeseries import TimeSeriesWriter, WriterOptions, open_writer
from kentongan_cloud.timeseries.measurements import IncidentStep, Place, incident_step, press
from kentongan_testkit.tsdb import VictoriaMetricsProcess

# Recent enough for any retention, old enough that no clock skew puts them in the future.
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
POSTS = [
    Place("lamteng", "terbanggi-besar", "poncowati", "tb-poncowati-01"),
    Place("lamteng", "terbanggi-besar", "adi-jaya", "tb-adi-jaya-01"),
    Place("lamteng", "punggur", "toto-katon", "pg-toto-katon-01"),
]


def presses(start: int, stop: int) -> list[TimePoint]:
    """Press points numbered start..stop-1, each at its own millisecond."""
    return [
        press(
            POSTS[i % 3],
            kind="panic",
            incident_type="pencurian",
            at=BASE + timedelta(milliseconds=i),
        )
        for i in range(start, stop)
    ]


def stored_presses(vm: VictoriaMetricsProcess) -> Counter[int]:
    """Millisecond offsets from BASE of every stored press (a re-sent point counts once)."""
    base_ms = int(BASE.timestamp() * 1000)
    seen: set[tuple[str, int]] = set()
    for series in vm.export('{__name__="press_count"}'):
        assert set(series["values"]) == {1}
        gateway = series["metric"]["gateway"]
        seen.update((gateway, ts - base_ms) for ts in series["timestamps"])
    return Counter(offset for _, offset in seen)


def writer_for(vm: VictoriaMetricsProcess, spool: Path, **opts: float) -> TimeSeriesWriter:
    options = WriterOptions(
        spool_path=spool,
        batch_size=int(opts.get("batch_size", 500)),
        flush_interval_s=0.2,
        spool_max_points=int(opts.get("spool_max_points", 100_000)),
        retry_initial_s=0.05,
        retry_max_s=0.5,
    )
    return open_writer(
        url=vm.url, token="test-token", org="kentongan", bucket="kentongan", options=options
    )


def write_in_chunks(writer: TimeSeriesWriter, points: list[TimePoint], chunk: int = 100) -> None:
    for i in range(0, len(points), chunk):
        writer.write(points[i : i + chunk])


def test_no_point_is_lost_when_the_store_stops_mid_stream(
    victoria_metrics: VictoriaMetricsProcess, tmp_path: Path
) -> None:
    writer = writer_for(victoria_metrics, tmp_path / "spool.sqlite")

    write_in_chunks(writer, presses(0, 2000))
    assert writer.flush(timeout=60)
    before = writer.stats()
    assert (before.written, before.spooled, before.outage) == (2000, 0, False)

    victoria_metrics.stop()
    write_in_chunks(writer, presses(2000, 4000))
    assert writer.flush(timeout=60)
    during = writer.stats()
    assert during.outage
    assert (during.written, during.spooled, during.spool_points) == (2000, 2000, 2000)

    victoria_metrics.start()
    write_in_chunks(writer, presses(4000, 6000))
    assert writer.wait_written(timeout=120)
    after = writer.close()

    assert (after.accepted, after.written, after.dropped, after.spool_points) == (6000, 6000, 0, 0)
    assert not after.outage
    assert stored_presses(victoria_metrics) == Counter(range(6000))


def test_points_spooled_at_shutdown_are_sent_by_the_next_start(
    victoria_metrics: VictoriaMetricsProcess, tmp_path: Path
) -> None:
    spool = tmp_path / "spool.sqlite"
    victoria_metrics.stop()
    first = writer_for(victoria_metrics, spool)
    write_in_chunks(first, presses(0, 1500))
    closed = first.close()
    assert (closed.written, closed.spool_points, closed.dropped) == (0, 1500, 0)

    victoria_metrics.start()
    second = writer_for(victoria_metrics, spool)
    assert second.stats().spool_points == 1500
    assert second.wait_written(timeout=120)
    assert second.close().written == 1500
    assert stored_presses(victoria_metrics) == Counter(range(1500))


def test_a_full_spool_drops_the_oldest_points_and_counts_them(
    victoria_metrics: VictoriaMetricsProcess, tmp_path: Path
) -> None:
    victoria_metrics.stop()
    writer = writer_for(
        victoria_metrics, tmp_path / "spool.sqlite", batch_size=100, spool_max_points=1000
    )
    write_in_chunks(writer, presses(0, 1500))
    assert writer.flush(timeout=60)
    full = writer.stats()
    assert (full.spooled, full.dropped, full.spool_points) == (1500, 500, 1000)

    victoria_metrics.start()
    assert writer.wait_written(timeout=120)
    assert writer.close().written == 1000
    assert stored_presses(victoria_metrics) == Counter(range(500, 1500))


STEPS: tuple[tuple[IncidentStep, float], ...] = (
    ("opened", 0),
    ("acknowledged", 42.5),
    ("resolved", 1800),
)


def test_durations_arrive_as_numbers_at_their_millisecond(
    victoria_metrics: VictoriaMetricsProcess, tmp_path: Path
) -> None:
    place = POSTS[0]
    opened = BASE
    points = [
        incident_step(
            place,
            incident_type="kebakaran",
            step=step,
            source="button",
            opened_at=opened,
            at=opened + timedelta(seconds=seconds),
        )
        for step, seconds in STEPS
    ]
    writer = writer_for(victoria_metrics, tmp_path / "spool.sqlite")
    writer.write(points)
    assert writer.wait_written(timeout=60)
    writer.close()

    got = {
        s["metric"]["step"]: (s["values"], s["timestamps"])
        for s in victoria_metrics.export('{__name__="incident_step_since_open_s"}')
    }
    base_ms = int(BASE.timestamp() * 1000)
    assert got == {
        "opened": ([0], [base_ms]),
        "acknowledged": ([42.5], [base_ms + 42_500]),
        "resolved": ([1800], [base_ms + 1_800_000]),
    }
