"""The bench's outputs for people: the PNG plot and the console summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

LATENCIES = (
    ("press_to_incident_visible", "press→incident visible"),
    ("press_to_event_ack_at_post", "press→event/ack at post"),
    ("press_to_neighbour_siren_acked", "press→neighbour siren ack"),
)


def write_json(path: Path, result: dict[str, Any]) -> None:
    """A bench's figures as JSON (its folder made if need be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")


def _f(v: Any, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:.1f}{unit}" if isinstance(v, float) else f"{v}{unit}"


def plot(result: dict[str, Any], path: Path) -> None:
    """Latencies (median of runs, each run a dot), throughput against the raw broker, and
    the remaining figures as text."""
    dbs = result["databases"]
    details = _details(result)
    fig = Figure(figsize=(12, 5 + 0.13 * len(details)))
    grid = fig.add_gridspec(2, 2, width_ratios=[3, 2], height_ratios=[5, 0.13 * len(details)])
    ax1, ax2, ax3 = (
        fig.add_subplot(grid[0, 0]),
        fig.add_subplot(grid[0, 1]),
        fig.add_subplot(grid[1, :]),
    )
    names = [r["database"] for r in dbs]
    for i, (key, label) in enumerate(LATENCIES):
        for j, stat in enumerate(("p50_ms", "p99_ms")):
            x = [n + (2 * i + j - 2.5) * 0.12 for n in range(len(dbs))]
            vals = [r["press_latency"][key][stat] or 0 for r in dbs]
            bars = ax1.bar(x, vals, width=0.12, label=f"{label} {stat[:3]}")
            for xi, r in zip(x, dbs, strict=True):
                dots = [run["press_latency"][key][stat] or 0 for run in r["runs"]]
                ax1.plot([xi] * len(dots), dots, "k.", markersize=3)
            ax1.bar_label(bars, fmt="%.0f", fontsize=6)
    ax1.set_xticks(range(len(dbs)), names)
    ax1.set_ylabel("ms")
    bg = dbs[0]["press_latency"]["background_events_per_s"] if dbs else 0
    ax1.set_title(f"latency at {bg:.0f} events/s background", fontsize=9)
    ax1.legend(fontsize=7)
    raw = result["raw_mosquitto"]["median_per_s"]
    rates = {"raw mosquitto\nQoS1": raw}
    for r in dbs:
        rates[f"{r['database']}\n({r['ratio_to_raw_mosquitto']:.2f} x raw)"] = r["sustained"][
            "events_per_s_zero_loss"
        ]
    b = ax2.bar(list(rates), list(rates.values()), color=["grey"] + ["tab:blue"] * len(dbs))
    ax2.bar_label(b, fmt="%.0f", fontsize=7)
    ax2.set_ylabel("messages/s (zero loss)")
    ax2.set_title("sustained throughput vs the raw broker", fontsize=9)
    ax2.tick_params(axis="x", labelsize=7)
    ax3.axis("off")
    ax3.text(0, 1, "\n".join(details), va="top", fontsize=7, family="monospace")
    title = (
        f"Kentongan bench: {result['plan']['gateways']} virtual gateways, "
        f"median of {result['runs']} run(s) per database"
    )
    finish(fig, title, result["note"], path, title_size=10)


def finish(fig: Figure, title: str, note: str, path: Path, *, title_size: float = 9) -> None:
    """Title on top, the run's note in small print at the foot, saved as PNG."""
    fig.suptitle(title, fontsize=title_size)
    fig.text(0.01, 0.01, note, fontsize=6)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)


def summary_line(r: dict[str, Any]) -> str:
    lat = r["press_latency"]["press_to_incident_visible"]
    siren = r["press_latency"]["press_to_neighbour_siren_acked"]
    return (
        f"{r['database']}: press→incident p50 {_f(lat['p50_ms'])} ms p99 {_f(lat['p99_ms'])} ms; "
        f"press→siren ack p50 {_f(siren['p50_ms'])} ms p99 {_f(siren['p99_ms'])} ms; "
        f"{r['sustained']['events_per_s_zero_loss']:.0f} events/s zero loss"
    )


def _details(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for r in result["databases"]:
        pl = r["press_latency"]
        c, s = pl["press_to_incident_visible"], pl["press_to_neighbour_siren_acked"]
        op, gap = pl["press_to_incident_opened"], pl["visibility_poll_gap"]
        e = pl["press_to_event_ack_at_post"]
        b, o, off = r["burst"], r["outage"], r["offline_detection"]
        q = r["cloud_per_1000_gateways"]
        lines += [
            f"-- {r['database']}, {result['plan']['gateways']} gateways in "
            f"{r['setup']['loadgen_processes']:.0f} load-generator processes "
            f"(connected in {r['setup']['connect_all_s']:.0f} s)",
            f"press→incident visible to a reader at {pl['background_events_per_s']:.0f} ev/s: "
            f"p50 {_f(c['p50_ms'])} ms, p99 {_f(c['p99_ms'])} ms, max {_f(c['max_ms'])} ms "
            f"({pl['presses']:.0f} presses, {pl['missing']:.0f} missing)",
            f"press→intake transaction began (opened_at): "
            f"p50 {_f(op['p50_ms'])} ms, p99 {_f(op['p99_ms'])} ms; the reader polled every "
            f"{_f(gap['p50_ms'])} ms (p99 {_f(gap['p99_ms'])} ms)",
            f"press→event/ack back at the post (after the commit): "
            f"p50 {_f(e['p50_ms'])} ms, p99 {_f(e['p99_ms'])} ms, max {_f(e['max_ms'])} ms",
            f"press→neighbour siren acked (at the cloud): p50 {_f(s['p50_ms'])} ms, "
            f"p99 {_f(s['p99_ms'])} ms, max {_f(s['max_ms'])} ms "
            f"({pl['siren_acks']:.0f} acks of {pl['siren_commands']:.0f} commands "
            f"from {pl['sounding_incidents']:.0f} confirmations)",
            f"sustained zero-loss: {r['sustained']['events_per_s_zero_loss']:.0f} events/s "
            f"= {r['ratio_to_raw_mosquitto']:.2f} x raw Mosquitto",
            f"burst: {b['panics']:.0f} panics in {result['plan']['burst_within_s']} s → "
            f"{b['incidents']:.0f} incidents, lost {b['lost']:.0f}, "
            f"duplicated {b['duplicated']:.0f}, "
            f"p99 {_f(b['press_to_incident_visible']['p99_ms'])} ms",
            f"outage {o['outage_s']} s: backlog {o['backlog']:.0f} + {o['live_panics']:.0f} "
            f"live, lost {o['lost']:.0f}, drained in {o['drain_s']:.1f} s "
            f"({o['drain_events_per_s']:.0f} ev/s), live p50 "
            f"{_f(o['live_press_to_incident_visible']['p50_ms'])} ms",
            f"offline detection: median {_f(off['median_s'])} s, max {_f(off['max_s'])} s "
            f"(missed {off['missed']:.0f})",
            f"cloud per 1,000 gateways (quiet night): RSS +{q['rss_mb']:.0f} MB over "
            f"{q['rss_mb_without_gateways']:.0f} MB without gateways, "
            f"CPU {q['cpu_percent_quiet']:.1f} %",
        ]
    return lines


def summary(result: dict[str, Any]) -> str:
    raw = result["raw_mosquitto"]["median_per_s"]
    return "\n".join(
        [
            "",
            f"== Kentongan bench (median of {result['runs']} run(s) per database) ==",
            result["note"],
            f"raw Mosquitto QoS 1 (1 pub -> 1 sub): {raw:.0f} msgs/s",
            *_details(result),
        ]
    )
