"""Panels that more than one dashboard shows, defined once so that they count alike."""

from __future__ import annotations

from kentongan_cloud.grafana.dashboards.kit import Placed, big_number
from kentongan_cloud.grafana.dashboards.queries import SqlQuery

_OFFLINE = 'SELECT count(*) FILTER (WHERE NOT online) AS "offline" FROM grafana_posts'


def posts_offline() -> Placed:
    """How many posts' gateways are offline now; red from the first one."""
    return big_number(
        "Pos offline",
        "Posts whose gateway is offline now (Last Will received or heartbeats stopped).",
        [SqlQuery("A", _OFFLINE)],
        thresholds=((None, "green"), (1, "red")),
        w=6,
    )
