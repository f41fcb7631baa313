"""What a panel asks: InfluxQL for time series, SQL for incident tables. No Grafana SDK here.

Queries use Grafana's macros ($timeFilter, $__interval, $__timeFilter(col)); the tests fill
them in as Grafana does and run every query against real servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

INFLUX_UID = "kentongan-influxdb"
INFLUX_TYPE = "influxdb"
POSTGRES_UID = "kentongan-postgres"
POSTGRES_TYPE = "grafana-postgresql-datasource"
WIB_DAY = "time(1d,-7h)"
"""InfluxQL day buckets that start at 00:00 WIB (UTC+7), not at 00:00 UTC."""

OPEN_STATES = "('new', 'acknowledged', 'dispatched')"


@dataclass(frozen=True, slots=True)
class InfluxQuery:
    """A raw InfluxQL query; `alias` names series in the legend ($tag_x, $col)."""

    ref_id: str
    query: str
    alias: str | None = None
    result_format: Literal["time_series", "table"] = "time_series"


@dataclass(frozen=True, slots=True)
class SqlQuery:
    """A raw SQL query for the PostgreSQL datasource."""

    ref_id: str
    sql: str
    format: Literal["table", "time_series"] = "table"


Query = InfluxQuery | SqlQuery
