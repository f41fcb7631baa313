"""Read the committed dashboards' queries and fill in Grafana's macros as Grafana does.

InfluxQL (raw mode): `$timeFilter` → `time >= <from>ms and time <= <to>ms`, `$__interval` and
`$interval` → the interval. PostgreSQL: `$__timeFilter(col)` → `col BETWEEN '<from>' AND
'<to>'` (RFC 3339, UTC), `$__timeFrom()`, `$__timeTo()`. Anything left that looks like a macro
is an error, so a misspelt macro fails the test instead of reaching the server.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
DASHBOARD_DIR = REPO / "dashboards" / "json"
_LEFTOVER = re.compile(r"\$\{?_*[A-Za-z]\w*")


@dataclass(frozen=True)
class Target:
    """One query of one panel, as committed."""

    dashboard: str
    panel: str
    ref_id: str
    datasource: str
    text: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.dashboard, self.panel, self.ref_id)


def committed_dashboards() -> dict[str, dict[str, object]]:
    """File name → dashboard JSON model, for every committed dashboard."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def targets() -> list[Target]:
    """Every query of every panel of every committed dashboard."""
    found = []
    for board in committed_dashboards().values():
        for panel in board["panels"]:  # type: ignore[attr-defined]
            for target in panel.get("targets", []):
                found.append(
                    Target(
                        dashboard=str(board["uid"]),
                        panel=panel["title"],
                        ref_id=target["refId"],
                        datasource=target["datasource"]["uid"],
                        text=target.get("query") or target.get("rawSql"),
                    )
                )
    return found


def _ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _no_leftovers(text: str) -> str:
    left = _LEFTOVER.findall(text)
    if left:
        msg = f"unfilled macros {left} in: {text}"
        raise AssertionError(msg)
    return text


def fill_influxql(query: str, start: datetime, end: datetime, interval: str) -> str:
    """The query as Grafana's InfluxDB datasource sends it for this range and interval."""
    text = query.replace("$timeFilter", f"time >= {_ms(start)}ms and time <= {_ms(end)}ms")
    text = text.replace("$__interval", interval)
    text = text.replace("$interval", interval)
    return _no_leftovers(text)


def _rfc3339(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


def fill_sql(sql: str, start: datetime, end: datetime) -> str:
    """The SQL as Grafana's PostgreSQL datasource sends it for this range."""
    text = re.sub(
        r"\$__timeFilter\(([^)]+)\)",
        lambda m: f"{m.group(1)} BETWEEN '{_rfc3339(start)}' AND '{_rfc3339(end)}'",
        sql,
    )
    text = text.replace("$__timeFrom()", f"'{_rfc3339(start)}'")
    text = text.replace("$__timeTo()", f"'{_rfc3339(end)}'")
    return _no_leftovers(text)
