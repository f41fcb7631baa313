"""`kentongan-bench --latency-only`: one stack per database, then the probe scenario (pairs of
presses under background load) repeated, and nothing else. Quick enough to alternate two
builds of the cloud several times in one sitting and compare them run for run."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from kentongan_testkit.bench.aggregate import ms
from kentongan_testkit.bench.report import finish
from kentongan_testkit.bench.scenarios import Bench

FIGURES = (
    ("press_to_incident_visible", "visible"),
    ("press_to_incident_opened", "opened"),
    ("press_to_event_ack_at_post", "event/ack"),
)


def probe_runs(
    bench: Bench, repeats: int, background: float, seconds: float, probes: int
) -> list[dict[str, Any]]:
    """The probe scenario `repeats` times on a started stack, each with fresh posts."""
    out: list[dict[str, Any]] = []
    for k in range(repeats):
        usage: dict[str, float] = {}
        with bench.cloud_usage(usage):
            probe = bench.probes_under_load(background, seconds, probes, seed=100 + k)
        lat = probe["lat"]
        out.append(
            {
                "presses": probe["presses"],
                "background_events": probe["background_events"],
                "missing": lat.missing,
                "press_to_incident_visible": ms(lat.visible_s),
                "press_to_incident_opened": ms(lat.opened_s),
                "press_to_event_ack_at_post": ms(lat.event_ack_s),
                "visibility_poll_gap": ms(lat.poll_gap_s),
                # The cloud's CPU over the run (settle, presses, background, the wait for the
                # last incident): steadier than the latencies from run to run, and on 2 shared
                # cores the loop's busy share is what the presses queue behind.
                "cloud_cpu_percent": usage["cloud_cpu_percent"],
            }
        )
        bench.progress(f"probe run {k + 1} of {repeats}: {run_line(out[-1])}")
    return out


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure and percentile, the median over the runs that have it."""
    out: dict[str, Any] = {}
    for key, _ in FIGURES:
        out[key] = {}
        for stat in ("p50_ms", "p99_ms"):
            vals = [r[key][stat] for r in runs if r[key][stat] is not None]
            out[key][stat] = statistics.median(vals) if vals else None
    cpu = [r["cloud_cpu_percent"] for r in runs]
    return out | {"cloud_cpu_percent": statistics.median(cpu) if cpu else None}


def _f(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def run_line(r: dict[str, Any]) -> str:
    return (
        "; ".join(
            f"{label} p50 {_f(r[key]['p50_ms'])} p99 {_f(r[key]['p99_ms'])} ms"
            for key, label in FIGURES
        )
        + (f"; cloud CPU {r['cloud_cpu_percent']:.0f} %" if r.get("cloud_cpu_percent") else "")
        + (f" ({r['missing']} missing)" if r.get("missing") else "")
    )


def plot(result: dict[str, Any], path: Path) -> None:
    """Each run's p50 and p99 per database as dots, the median as a bar, the targets as lines."""
    dbs = result["databases"]
    fig = Figure(figsize=(8, 4.5))
    axes = fig.subplots(1, 2, sharey=False)
    for ax, stat, target in zip(axes, ("p50_ms", "p99_ms"), (30, 100), strict=True):
        for i, d in enumerate(dbs):
            for j, (key, label) in enumerate(FIGURES):
                x = i + (j - 1) * 0.25
                med = d["median"][key][stat] or 0
                ax.bar(x, med, width=0.25, color=f"C{j}", label=label if i == 0 else None)
                dots = [r[key][stat] or 0 for r in d["runs"]]
                ax.plot([x] * len(dots), dots, "k.", markersize=4)
        ax.axhline(target, color="red", linewidth=0.8, linestyle="--")
        ax.set_xticks(range(len(dbs)), [d["database"] for d in dbs])
        ax.set_title(f"press → … {stat[:3]} (target {target} ms dashed)", fontsize=9)
        ax.set_ylabel("ms")
        ax.legend(fontsize=7)
    title = (
        f"Kentongan latency probe: {result['repeats']} run(s) of {result['probes']} presses at "
        f"{result['background_events_per_s']:.0f} events/s, {result['gateways']} gateways"
    )
    finish(fig, title, result["note"], path)
