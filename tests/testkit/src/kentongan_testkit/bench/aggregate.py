"""Several runs of one database folded into one: the median of every figure, the raw runs
kept alongside so nothing is hidden."""

from __future__ import annotations

import statistics
from typing import Any


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] * 1000


def ms(values: list[float]) -> dict[str, float | None]:
    """p50, p99 and max of latencies in seconds, as milliseconds (None when there are none)."""
    return {"p50_ms": _pct(values, 0.5), "p99_ms": _pct(values, 0.99), "max_ms": _pct(values, 1)}


def median_of_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The same shape as one run: numbers are the median over the runs that have them, flags
    hold only if they hold in every run, anything else is the first run's."""
    first = runs[0]
    out: dict[str, Any] = {}
    for key, value in first.items():
        values = [r.get(key) for r in runs]
        if isinstance(value, bool):
            out[key] = all(bool(v) for v in values)
        elif isinstance(value, dict):
            out[key] = median_of_runs([v for v in values if isinstance(v, dict)])
        elif isinstance(value, int | float) or value is None:
            nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            out[key] = statistics.median(nums) if nums else None
        else:
            out[key] = value
    return out
