"""`kentongan-bench --quick` end to end (SQLite, a few virtual gateways, the raw
Mosquitto ceiling): the JSON has every figure and the PNG is written; likewise the latency
probe alone, the store bench and the outbox bench. No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kentongan_testkit.bench.cli import main
from kentongan_testkit.pgserver import ENV_VAR, PgServer

LATENCY = ("p50_ms", "p99_ms", "max_ms")


def bench_script(
    name: str, argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one of cloud/bench's scripts as a person would, its output captured."""
    script = Path(__file__).resolve().parents[1] / "cloud" / "bench" / name
    return subprocess.run(
        [sys.executable, str(script), *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("workers", [1, 2])
def test_quick_bench_writes_every_figure(tmp_path: Path, workers: int) -> None:
    # One database keeps CI short; `kentongan-bench` runs both by default. Two workers
    # share the events on the `$share/` group, each with its own broker account.
    argv = ["--quick", "--databases", "sqlite", "--procs", "2", "--out", str(tmp_path)]
    assert main([*argv, "--workers", str(workers)]) == 0
    [result_file] = tmp_path.glob("bench-*.json")
    assert result_file.with_suffix(".png").stat().st_size > 0
    r = json.loads(result_file.read_text())
    assert "share" in r["note"]
    raw = r["raw_mosquitto"]
    assert raw["median_per_s"] > 0
    assert all(run["received"] <= run["sent"] for run in raw["runs"])
    assert [d["database"] for d in r["databases"]] == ["sqlite"]
    assert r["cloud_workers"] == workers
    for d in r["databases"]:
        pl = d["press_latency"]
        seen, opened = pl["press_to_incident_visible"], pl["press_to_incident_opened"]
        assert set(seen) == set(opened) == set(LATENCY)
        assert seen["p99_ms"] is not None
        # A reader sees the incident only after its transaction began, and the cloud acks
        # after the commit: neither comes sooner than opened_at.
        assert seen["p50_ms"] >= opened["p50_ms"]
        ack = pl["press_to_event_ack_at_post"]
        assert ack["p99_ms"] is not None
        assert ack["p50_ms"] >= opened["p50_ms"]
        assert set(pl["press_to_neighbour_siren_acked"]) == set(LATENCY)
        # Every probe pair confirms, so neighbours' sirens sound and their acks are timed.
        assert pl["sounding_incidents"] >= 1
        assert pl["siren_acks"] == pl["siren_commands"] >= 1
        assert pl["press_to_neighbour_siren_acked"]["p99_ms"] is not None
        assert d["setup"]["loadgen_processes"] == 2
        assert len(d["runs"]) == 1
        assert d["sustained"]["runs"]
        assert "events_per_s_zero_loss" in d["sustained"]
        assert {"panics", "incidents", "lost", "duplicated", "absorbed_without_loss"} <= set(
            d["burst"]
        )
        assert {"backlog", "lost", "drain_s"} <= set(d["outage"])
        assert {"median_s", "max_s", "missed"} <= set(d["offline_detection"])
        assert {"rss_mb", "cpu_percent_quiet"} <= set(d["cloud_per_1000_gateways"])
        assert d["ratio_to_raw_mosquitto"] >= 0
        # Every panic became exactly one incident.
        assert d["burst"]["duplicated"] == 0


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_latency_only_repeats_the_probe_and_reports_each_run(tmp_path: Path) -> None:
    argv = ["--quick", "--latency-only", "--runs", "2", "--databases", "sqlite"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    [result_file] = tmp_path.glob("latency-*.json")
    assert result_file.with_suffix(".png").stat().st_size > 0
    assert not list(tmp_path.glob("bench-*"))  # no full bench ran
    r = json.loads(result_file.read_text())
    assert r["mode"] == "latency-only"
    [d] = r["databases"]
    assert d["database"] == "sqlite"
    assert len(d["runs"]) == 2
    for run in d["runs"]:
        assert run["presses"] == 8
        assert run["missing"] == 0
        assert run["cloud_cpu_percent"] > 0
        assert set(run["press_to_incident_visible"]) == set(LATENCY)
        assert (
            run["press_to_incident_visible"]["p50_ms"] >= run["press_to_incident_opened"]["p50_ms"]
        )
    p50s = sorted(run["press_to_incident_visible"]["p50_ms"] for run in d["runs"])
    assert d["median"]["press_to_incident_visible"]["p50_ms"] == sum(p50s) / 2


def test_store_bench_writes_both_figures(tmp_path: Path) -> None:
    out = tmp_path / "store.json"
    argv = ["--gateways", "40", "--rows", "5", "--batch", "8", "--rounds", "3", "--out", str(out)]
    done = bench_script("store_bench.py", argv)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "execute_many" in done.stdout
    r = json.loads(out.read_text())
    assert r["events_insert"]["sqlalchemy_ms"] > 0
    assert r["events_insert"]["execute_many_ms"] > 0
    assert r["health"]["load_seen_save_ms"] > 0


def test_outbox_bench_writes_both_databases(tmp_path: Path, postgres_server: PgServer) -> None:
    out = tmp_path / "outbox.json"
    argv = ["--queue", "30", "--others", "20", "--batch", "10", "--history", "200"]
    argv += ["--window", "3", "--out", str(out)]
    env = os.environ | {ENV_VAR: f"postgresql://{postgres_server.netloc}/postgres"}
    done = bench_script("outbox_bench.py", argv, env)
    assert done.returncode == 0, done.stderr[-2000:]
    r = json.loads(out.read_text())
    for db in ("sqlite", "postgresql"):
        assert r[db]["passes"] == 20
        assert r[db]["first_ms"] > 0
        assert r[db]["last_ms"] > 0
        assert f"{db}: claim of 10" in done.stdout
