"""`kentongan-bench`: one run measures Kentongan against SQLite and PostgreSQL and the raw
Mosquitto ceiling, and writes bench-results/bench-<time>.json and .png."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from kentongan_testkit.bench.loadgen import Bench
from kentongan_testkit.bench.raw import raw_qos1

SAMPLE = Path(__file__).resolve().parents[5] / "firmware_configs"
SHARED_CORES_NOTE = (
    "The load generator (every virtual gateway), the broker, the cloud worker and the database "
    "share this machine's {cores} cores: every figure is a lower bound for the cloud alone."
)


@dataclass(frozen=True)
class Plan:
    gateways: int
    heartbeat_s: float
    quiet_s: float
    background_rate: float
    probe_s: float
    probes: int
    sustained_rates: tuple[float, ...]
    sustained_s: float
    burst_within_s: float
    outage_s: float
    outage_per_post: int
    outage_live: int
    offline_posts: int
    raw_messages: int
    raw_runs: int


FULL = Plan(2000, 30, 30, 1000, 30, 60, (1000, 3000), 15, 5, 20, 3, 30, 5, 50_000, 3)
QUICK = Plan(30, 5, 5, 100, 5, 8, (200,), 4, 2, 3, 3, 3, 2, 5_000, 1)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] * 1000


def _ms(values: list[float]) -> dict[str, float | None]:
    return {"p50_ms": _pct(values, 0.5), "p99_ms": _pct(values, 0.99), "max_ms": _pct(values, 1)}


def run_database(plan: Plan, database: str, work: Path, log: Any) -> dict[str, Any]:
    bench = Bench(work, SAMPLE, plan.gateways, database, plan.heartbeat_s, log)
    out: dict[str, Any] = {"database": database}
    try:
        out["setup"] = bench.start()
        out["quiet_night"] = bench.quiet_night(plan.quiet_s)
        probe = bench.probes_under_load(plan.background_rate, plan.probe_s, plan.probes)
        out["press_latency"] = {
            "background_events_per_s": plan.background_rate,
            "presses": probe["presses"],
            "missing": int(probe["missing"][0]),
            "press_to_incident_committed": _ms(probe["commit_s"]),
            "press_to_neighbour_siren_acked": _ms(probe["siren_ack_s"]),
        }
        sustained = [bench.sustained(r, plan.sustained_s) for r in plan.sustained_rates]
        clean = [s for s in sustained if s["lost"] == 0]
        out["sustained"] = {
            "runs": sustained,
            "events_per_s_zero_loss": max((s["events_per_s"] for s in clean), default=0.0),
        }
        burst = bench.burst(None, plan.burst_within_s)
        out["burst"] = {
            k: v for k, v in burst.items() if k not in ("commit_s", "siren_ack_s", "missing")
        } | {
            "press_to_incident_committed": _ms(burst["commit_s"]),
            "press_to_neighbour_siren_acked": _ms(burst["siren_ack_s"]),
            "absorbed_without_loss": burst["lost"] == 0 and burst["duplicated"] == 0,
        }
        outage = bench.outage(plan.outage_s, plan.outage_per_post, plan.outage_live)
        out["outage"] = {
            k: v
            for k, v in outage.items()
            if k not in ("live_commit_s", "live_siren_ack_s", "live_missing")
        } | {"live_press_to_incident_committed": _ms(outage["live_commit_s"])}
        off = bench.offline_detection(plan.offline_posts)
        out["offline_detection"] = {
            "posts": plan.offline_posts,
            "missed": int(off["missed"][0]),
            "median_s": statistics.median(off["detected_s"]) if off["detected_s"] else None,
            "max_s": max(off["detected_s"], default=None),
        }
        out["cloud_per_1000_gateways"] = {
            "rss_mb": out["quiet_night"]["cloud_rss_mb_per_1000_gateways"],
            "rss_mb_without_gateways": out["quiet_night"]["cloud_rss_mb_without_gateways"],
            "cpu_percent_quiet": out["quiet_night"]["cloud_cpu_percent_per_1000_gateways"],
        }
    finally:
        bench.close()
    return out


def plot(result: dict[str, Any], path: Path) -> None:
    runs = result["databases"]
    fig = Figure(figsize=(11, 4.5))
    ax1, ax2 = fig.subplots(1, 2)
    names = [r["database"] for r in runs]
    for key, label in (
        ("press_to_incident_committed", "press→incident"),
        ("press_to_neighbour_siren_acked", "press→siren ack"),
    ):
        for stat in ("p50_ms", "p99_ms"):
            vals = [r["press_latency"][key][stat] or 0 for r in runs]
            ax1.plot(names, vals, marker="o", label=f"{label} {stat[:3]}")
    ax1.set_ylabel("ms")
    ax1.set_title(f"latency at {runs[0]['press_latency']['background_events_per_s']:.0f} ev/s")
    ax1.legend(fontsize=8)
    raw = result["raw_mosquitto"]["median_per_s"]
    bars = {"raw mosquitto QoS1": raw}
    for r in runs:
        bars[f"kentongan {r['database']}"] = r["sustained"]["events_per_s_zero_loss"]
    ax2.bar(list(bars), list(bars.values()), color=["grey"] + ["tab:blue"] * len(runs))
    ax2.set_ylabel("messages/s (zero loss)")
    ax2.set_title("throughput vs the raw broker")
    ax2.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"Kentongan bench, {result['plan']['gateways']} virtual gateways", fontsize=10)
    fig.text(0.01, 0.01, result["note"], fontsize=6)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kentongan-bench",
        description="Benchmark Kentongan: virtual gateways, a real Mosquitto and the cloud "
        "worker on SQLite and PostgreSQL, against raw Mosquitto QoS 1 throughput.",
    )
    p.add_argument("--quick", action="store_true", help="a small smoke run (about a minute)")
    p.add_argument("--gateways", type=int, help="virtual gateways (default 2000, quick 30)")
    p.add_argument(
        "--databases", default="sqlite,postgresql", help="comma list of sqlite, postgresql"
    )
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output directory")
    p.add_argument("--raw-runs", type=int, help="raw Mosquitto runs (median)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.gateways:
        plan = Plan(**(plan.__dict__ | {"gateways": args.gateways}))
    if args.raw_runs:
        plan = Plan(**(plan.__dict__ | {"raw_runs": args.raw_runs}))
    t_start = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - t_start:7.1f} s] {msg}", flush=True)

    cores = os.cpu_count() or 1
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {"cores": cores, "python": platform.python_version(), "host": platform.node()},
        "note": SHARED_CORES_NOTE.format(cores=cores),
        "plan": plan.__dict__,
    }
    log(f"raw mosquitto QoS 1: {plan.raw_runs} x {plan.raw_messages} messages")
    raws = [raw_qos1(plan.raw_messages) for _ in range(plan.raw_runs)]
    result["raw_mosquitto"] = {
        "runs": [
            {"sent": r.sent, "received": r.received, "seconds": r.seconds, "per_s": r.per_s}
            for r in raws
        ],
        "median_per_s": statistics.median(r.per_s for r in raws),
        "tool": "mosquitto_pub -q 1 -l | mosquitto_sub -q 1 -C N (rate at the subscriber)",
    }
    log(f"raw mosquitto: {result['raw_mosquitto']['median_per_s']:.0f} msgs/s")
    result["databases"] = []
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = args.out / f"bench-{stamp}.json"
    png_path = args.out / f"bench-{stamp}.png"
    for database in [d.strip() for d in args.databases.split(",") if d.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"kentongan-bench-{database}-") as tmp:
            r = run_database(plan, database, Path(tmp), log)
        ours = r["sustained"]["events_per_s_zero_loss"]
        r["ratio_to_raw_mosquitto"] = ours / result["raw_mosquitto"]["median_per_s"]
        result["databases"].append(r)
        log(summary_line(r))
        # Written after each database, so a long run interrupted later keeps what it measured.
        result["duration_s"] = time.monotonic() - t_start
        json_path.write_text(json.dumps(result, indent=2, default=str))
    plot(result, png_path)
    print(summary(result))
    print(f"wrote {json_path} and {png_path}")
    return 0


def summary_line(r: dict[str, Any]) -> str:
    lat = r["press_latency"]["press_to_incident_committed"]
    return (
        f"{r['database']}: press→incident p50 {lat['p50_ms']} ms p99 {lat['p99_ms']} ms; "
        f"{r['sustained']['events_per_s_zero_loss']:.0f} events/s zero loss"
    )


def _f(v: Any, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:.1f}{unit}" if isinstance(v, float) else f"{v}{unit}"


def summary(result: dict[str, Any]) -> str:
    raw = result["raw_mosquitto"]["median_per_s"]
    lines = [
        "",
        "== Kentongan bench ==",
        result["note"],
        f"raw Mosquitto QoS 1 (1 pub -> 1 sub): {raw:.0f} msgs/s",
    ]
    for r in result["databases"]:
        pl = r["press_latency"]
        c, s = pl["press_to_incident_committed"], pl["press_to_neighbour_siren_acked"]
        b, o, off = r["burst"], r["outage"], r["offline_detection"]
        q = r["cloud_per_1000_gateways"]
        lines += [
            f"-- {r['database']}, {result['plan']['gateways']} gateways "
            f"(connected in {r['setup']['connect_all_s']:.0f} s)",
            f"press→incident committed at {pl['background_events_per_s']:.0f} ev/s: "
            f"p50 {_f(c['p50_ms'])} ms, p99 {_f(c['p99_ms'])} ms, max {_f(c['max_ms'])} ms "
            f"({pl['presses']} presses, {pl['missing']} missing)",
            f"press→neighbour siren acked: p50 {_f(s['p50_ms'])} ms, p99 {_f(s['p99_ms'])} ms",
            f"sustained zero-loss: {r['sustained']['events_per_s_zero_loss']:.0f} events/s "
            f"= {r['ratio_to_raw_mosquitto']:.2f} x raw Mosquitto",
            f"burst: {b['panics']} panics in {result['plan']['burst_within_s']} s → "
            f"{b['incidents']} incidents, lost {b['lost']}, duplicated {b['duplicated']}, "
            f"p99 {_f(b['press_to_incident_committed']['p99_ms'])} ms",
            f"outage {o['outage_s']} s: backlog {o['backlog']} + {o['live_panics']} live, "
            f"lost {o['lost']}, drained in {o['drain_s']:.1f} s "
            f"({o['drain_events_per_s']:.0f} ev/s), live p50 "
            f"{_f(o['live_press_to_incident_committed']['p50_ms'])} ms",
            f"offline detection: median {_f(off['median_s'])} s, max {_f(off['max_s'])} s "
            f"(missed {off['missed']})",
            f"cloud per 1,000 gateways (quiet night): RSS +{q['rss_mb']:.0f} MB over "
            f"{q['rss_mb_without_gateways']:.0f} MB without gateways, "
            f"CPU {q['cpu_percent_quiet']:.1f} %",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
