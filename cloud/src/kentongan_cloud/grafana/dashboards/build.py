"""Write the dashboards' JSON: `python -m kentongan_cloud.grafana.dashboards.build [DIR]`.

DIR defaults to dashboards/json in the repository; Grafana's file provider reads it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kentongan_cloud.grafana.dashboards import aktivitas_ronda, kesehatan_perangkat, pusat_komando

BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "pusat-komando.json": pusat_komando.build,
    "kesehatan-perangkat.json": kesehatan_perangkat.build,
    "aktivitas-ronda.json": aktivitas_ronda.build,
}


def render(model: dict[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, trailing newline."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name → JSON text of every dashboard."""
    return {name: render(build()) for name, build in BUILDERS.items()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path(__file__).resolve().parents[5] / "dashboards" / "json"
    out.mkdir(parents=True, exist_ok=True)
    for name, text in rendered().items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
