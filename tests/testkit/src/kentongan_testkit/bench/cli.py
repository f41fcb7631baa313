"""`kentongan-bench`: one run measures Kentongan against SQLite and PostgreSQL and the raw
Mosquitto ceiling, and writes bench-results/bench-<time>.json and .png."""

from __future__ import annotations

import argparse
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

from kentongan_testkit.bench import probe
from kentongan_testkit.bench.aggregate import median_of_runs, ms
from kentongan_testkit.bench.latency import PressLatency
from kentongan_testkit.bench.raw import raw_qos1
from kentongan_testkit.bench.report import plot, summary, summary_line, write_json
from kentongan_testkit.bench.scenarios import Bench

SAMPLE = Path(__file__).resolve().parents[5] / "firmware_configs"
SHARED_CORES_NOTE = (
    "The load generators (every virtual gateway), the broker, the cloud worker and the "
    "database share this machine's {cores} cores: every figure is a lower bound for the cloud "
    "alone."
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


FULL = Plan(2000, 30, 30, 1000, 30, 60, (1000, 3000, 4500), 15, 5, 20, 3, 30, 5, 50_000, 3)
QUICK = Plan(30, 5, 5, 100, 5, 8, (200,), 4, 2, 3, 3, 3, 2, 5_000, 1)


def _latency(lat: PressLatency) -> dict[str, Any]:
    return {
        "press_to_incident_visible": ms(lat.visible_s),
        "visibility_poll_gap": ms(lat.poll_gap_s),
        "press_to_incident_opened": ms(lat.opened_s),
        "press_to_event_ack_at_post": ms(lat.event_ack_s),
        "press_to_neighbour_siren_acked": ms(lat.siren_ack_s),
        "press_to_siren_command_sent": ms(lat.siren_sent_s),
        "siren_acks": len(lat.siren_ack_s),
        **lat.figures(),
    }


def run_database(
    plan: Plan, database: str, work: Path, log: Any, procs: int, workers: int = 1
) -> dict[str, Any]:
    bench = Bench(work, SAMPLE, plan.gateways, database, plan.heartbeat_s, log, procs, workers)
    out: dict[str, Any] = {"database": database, "cloud_workers": workers}
    try:
        out["setup"] = bench.start()
        out["quiet_night"] = bench.quiet_night(plan.quiet_s)
        probe = bench.probes_under_load(plan.background_rate, plan.probe_s, plan.probes)
        out["press_latency"] = {
            "background_events_per_s": plan.background_rate,
            "background_events": probe["background_events"],
            "presses": probe["presses"],
            "confirming_pairs": probe["pairs"],
            "missing": probe["lat"].missing,
            "siren_ack_measured_at": "the cloud (command_acks.at)",
            **_latency(probe["lat"]),
        }
        sustained = [bench.sustained(r, plan.sustained_s) for r in plan.sustained_rates]
        clean = [s for s in sustained if s["lost"] == 0]
        out["sustained"] = {
            "runs": sustained,
            "events_per_s_zero_loss": max((s["events_per_s"] for s in clean), default=0.0),
        }
        burst = bench.burst(None, plan.burst_within_s)
        out["burst"] = {k: v for k, v in burst.items() if k != "lat"} | {
            **_latency(burst["lat"]),
            "absorbed_without_loss": burst["lost"] == 0 and burst["duplicated"] == 0,
        }
        outage = bench.outage(plan.outage_s, plan.outage_per_post, plan.outage_live)
        out["outage"] = {k: v for k, v in outage.items() if k != "lat"} | {
            "live_press_to_incident_visible": ms(outage["lat"].visible_s),
            "live_press_to_event_ack_at_post": ms(outage["lat"].event_ack_s),
            "live_missing": outage["lat"].missing,
        }
        off = bench.offline_detection(plan.offline_posts)
        out["offline_detection"] = {
            "posts": plan.offline_posts,
            "missed": off["missed"],
            "median_s": statistics.median(off["detected_s"]) if off["detected_s"] else None,
            "max_s": max(off["detected_s"], default=None),
        }
        out["cloud_per_1000_gateways"] = {
            "rss_mb": out["quiet_night"]["cloud_rss_mb_per_1000_gateways"],
            "rss_mb_without_gateways": out["quiet_night"]["cloud_rss_mb_without_gateways"],
            "cpu_percent_quiet": out["quiet_night"]["cloud_cpu_percent_per_1000_gateways"],
        }
        out["settled_before_s"] = bench.settled_s
    finally:
        bench.close()
    return out


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        msg = f"expected a whole number of at least 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kentongan-bench",
        description="Benchmark Kentongan: virtual gateways, a real Mosquitto and the cloud "
        "worker on SQLite and PostgreSQL, against raw Mosquitto QoS 1 throughput.",
    )
    p.add_argument("--quick", action="store_true", help="a small smoke run (about a minute)")
    p.add_argument("--gateways", type=_positive, help="virtual gateways (default 2000, quick 30)")
    p.add_argument(
        "--databases", default="sqlite,postgresql", help="comma list of sqlite, postgresql"
    )
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output directory")
    p.add_argument("--raw-runs", type=_positive, help="raw Mosquitto runs (median)")
    p.add_argument(
        "--background",
        type=_positive,
        help="background events/s while the latency probes press (default 1000, quick 100)",
    )
    p.add_argument(
        "--procs",
        type=_positive,
        default=2,
        help="load-generator processes sharing the virtual gateways (default 2)",
    )
    p.add_argument(
        "--workers",
        type=int,
        choices=(1, 2),
        default=1,
        help="cloud workers sharing the events on the $share/ group, each with its own "
        "broker account (default 1); their CPU and memory are added up",
    )
    p.add_argument(
        "--runs",
        type=_positive,
        default=1,
        help="measure each database this many times and report the medians (default 1)",
    )
    p.add_argument(
        "--latency-only",
        action="store_true",
        help="only the press-latency probe, --runs times on one stack per database, no "
        "raw broker or other scenarios (a few minutes; writes latency-<time>.json and .png)",
    )
    return p


def _databases(text: str) -> list[str]:
    names = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in names if d not in ("sqlite", "postgresql")]
    if bad or not names:
        msg = f"--databases: expected a comma list of sqlite, postgresql; got {text!r}"
        raise SystemExit(msg)
    return names


def _raw(plan: Plan) -> dict[str, Any]:
    raws = [raw_qos1(plan.raw_messages) for _ in range(plan.raw_runs)]
    return {
        "runs": [
            {"sent": r.sent, "received": r.received, "seconds": r.seconds, "per_s": r.per_s}
            for r in raws
        ],
        "median_per_s": statistics.median(r.per_s for r in raws),
        "tool": "mosquitto_pub -q 1 -l | mosquitto_sub -q 1 -C N (rate at the subscriber)",
    }


def _latency_only(
    plan: Plan,
    databases: list[str],
    args: argparse.Namespace,
    result: dict[str, Any],
    log: Any,
    stem: Path,
) -> int:
    result |= {
        "mode": "latency-only",
        "repeats": args.runs,
        "gateways": plan.gateways,
        "probes": plan.probes,
        "background_events_per_s": plan.background_rate,
        "databases": [],
    }
    t_start = time.monotonic()
    for database in databases:
        with tempfile.TemporaryDirectory(prefix=f"kentongan-bench-{database}-") as tmp:
            bench = Bench(
                Path(tmp),
                SAMPLE,
                plan.gateways,
                database,
                plan.heartbeat_s,
                log,
                args.procs,
                args.workers,
            )
            try:
                setup = bench.start()
                # The start-up storm (every post's birth, state and telemetry) passes first,
                # as the quiet night does before the full bench's probes.
                quiet = bench.quiet_night(plan.quiet_s)
                runs = probe.probe_runs(
                    bench, args.runs, plan.background_rate, plan.probe_s, plan.probes
                )
            finally:
                bench.close()
        med = probe.medians(runs)
        result["databases"].append(
            {
                "database": database,
                "setup": setup,
                "quiet_night": quiet,
                "runs": runs,
                "median": med,
            }
        )
        result["duration_s"] = time.monotonic() - t_start
        write_json(stem.with_suffix(".json"), result)
        log(f"{database}, median of {args.runs} run(s): {probe.run_line(med)}")
    probe.plot(result, stem.with_suffix(".png"))
    print(f"wrote {stem}.json and {stem}.png")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    databases = _databases(args.databases)
    plan = QUICK if args.quick else FULL
    if args.gateways:
        plan = Plan(**(plan.__dict__ | {"gateways": args.gateways}))
    if args.raw_runs:
        plan = Plan(**(plan.__dict__ | {"raw_runs": args.raw_runs}))
    if args.background:
        plan = Plan(**(plan.__dict__ | {"background_rate": float(args.background)}))
    t_start = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - t_start:7.1f} s] {msg}", flush=True)

    cores = os.cpu_count() or 1
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {"cores": cores, "python": platform.python_version(), "host": platform.node()},
        "note": SHARED_CORES_NOTE.format(cores=cores),
        "plan": plan.__dict__,
        "loadgen_processes": args.procs,
        "cloud_workers": args.workers,
        "runs": args.runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if args.latency_only:
        return _latency_only(plan, databases, args, result, log, args.out / f"latency-{stamp}")
    log(f"raw mosquitto QoS 1: {plan.raw_runs} x {plan.raw_messages} messages")
    result["raw_mosquitto"] = _raw(plan)
    raw_per_s = result["raw_mosquitto"]["median_per_s"]
    log(f"raw mosquitto: {raw_per_s:.0f} msgs/s")
    result["databases"] = []
    json_path = args.out / f"bench-{stamp}.json"
    png_path = args.out / f"bench-{stamp}.png"
    for database in databases:
        runs: list[dict[str, Any]] = []
        for k in range(args.runs):
            log(f"{database}: run {k + 1} of {args.runs}")
            with tempfile.TemporaryDirectory(prefix=f"kentongan-bench-{database}-") as tmp:
                one = run_database(plan, database, Path(tmp), log, args.procs, args.workers)
            one["ratio_to_raw_mosquitto"] = one["sustained"]["events_per_s_zero_loss"] / raw_per_s
            runs.append(one)
            log(summary_line(one))
        r = median_of_runs(runs) | {"runs": runs}
        result["databases"].append(r)
        # Written after each database, so a long run interrupted later keeps what it measured.
        result["duration_s"] = time.monotonic() - t_start
        write_json(json_path, result)
    plot(result, png_path)
    print(summary(result))
    print(f"wrote {json_path} and {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
