"""Kesehatan Perangkat: is every post's gateway alive, powered, cool and connected?"""

# Query text is built from constants when the dashboards are generated, never from input.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

from kentongan_cloud.grafana.dashboards.kit import (
    big_number,
    dashboard,
    rows,
    states,
    time_series,
)
from kentongan_cloud.grafana.dashboards.panels import posts_offline
from kentongan_cloud.grafana.dashboards.queries import WIB_DAY, InfluxQuery, SqlQuery

UID = "kentongan-kesehatan-perangkat"


def _per_gateway(function: str, field: str, measurement: str = "gateway_health") -> InfluxQuery:
    return InfluxQuery(
        "A",
        f'SELECT {function}("{field}") FROM "{measurement}" WHERE $timeFilter '
        'GROUP BY time($__interval), "gateway"',
        alias="$tag_gateway",
    )


def _lane(field: str, measurement: str) -> InfluxQuery:
    return InfluxQuery(
        "A",
        f'SELECT last("{field}") FROM "{measurement}" WHERE $timeFilter '
        'GROUP BY time($__interval), "gateway" fill(previous)',
        alias="$tag_gateway",
    )


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    panels = [
        big_number(
            "Pos online",
            "Posts whose gateway is online now.",
            [SqlQuery("A", 'SELECT count(*) FILTER (WHERE online) AS "online" FROM grafana_posts')],
            w=6,
        ),
        posts_offline(),
        time_series(
            "Pos yang mengirim heartbeat",
            "Number of posts that sent at least one heartbeat in each interval.",
            [
                InfluxQuery(
                    "A",
                    'SELECT count("uptime_s") FROM (SELECT last("uptime_s") AS "uptime_s" '
                    'FROM "gateway_health" WHERE $timeFilter GROUP BY time($__interval), '
                    '"gateway") WHERE $timeFilter GROUP BY time($__interval)',
                    alias="pos",
                )
            ],
            w=12,
        ),
        states(
            "Status online per pos",
            "Online (green) and offline (red) periods of each post's gateway, from births, "
            "Last Wills and heartbeat time-outs.",
            [_lane("online", "gateway_online")],
            texts={0: ("offline", "red"), 1: ("online", "green")},
        ),
        time_series(
            "Pos offline per hari",
            "Times a gateway went offline per WIB day, stacked by kecamatan: a link that "
            "flaps shows up here before anyone complains.",
            [
                InfluxQuery(
                    "A",
                    'SELECT count("online") FROM "gateway_online" WHERE "online" = 0 '
                    f'AND $timeFilter GROUP BY {WIB_DAY}, "kecamatan" fill(0)',
                    alias="$tag_kecamatan",
                )
            ],
            bars=True,
        ),
        time_series(
            "Jeda heartbeat terpanjang",
            "Longest gap between two heartbeats of each gateway in each interval (seconds). "
            "Heartbeats come every 30 s; long gaps mean a weak or lost connection.",
            [_per_gateway("max", "heartbeat_gap_s")],
            unit="s",
        ),
        time_series(
            "Antrian outbox gateway",
            "Events each gateway still holds unacknowledged in its outbox (largest value per "
            "interval). Above zero for long means events are not reaching the cloud.",
            [_per_gateway("max", "outbox_depth")],
        ),
        states(
            "Listrik PLN per pos",
            "Whether each post runs on mains power (PLN) or on its battery.",
            [_lane("mains", "power")],
            texts={0: ("aki", "orange"), 1: ("PLN", "green")},
        ),
        states(
            "Aki lemah per pos",
            "Whether each post's battery is low (below about 11.8 V on a 12 V battery).",
            [_lane("battery_low", "power")],
            texts={0: ("baik", "green"), 1: ("lemah", "red")},
        ),
        time_series(
            "Suhu CPU",
            "Highest CPU temperature of each gateway per interval. A Raspberry Pi slows down "
            "above 80 °C: check the enclosure's shade and ventilation.",
            [_per_gateway("max", "cpu_temp_c")],
            unit="celsius",
            w=8,
        ),
        time_series(
            "Sinyal",
            "Mean Wi-Fi or cellular signal strength of each gateway per interval (dBm; "
            "below -80 dBm is weak).",
            [_per_gateway("mean", "signal_dbm")],
            unit="dBm",
            w=8,
        ),
        time_series(
            "Latensi intake (p50/p90/maks)",
            "Seconds from a live event at a post (clock-synced gateways only) to its incident "
            "change committed in the cloud.",
            [
                InfluxQuery(
                    "A",
                    'SELECT percentile("end_to_end_s", 50) AS "p50", '
                    'percentile("end_to_end_s", 90) AS "p90", max("end_to_end_s") AS "max" '
                    'FROM "intake" WHERE $timeFilter GROUP BY time($__interval)',
                    alias="$col",
                )
            ],
            unit="s",
            w=8,
        ),
        time_series(
            "Aktivitas sirene per hari",
            "Sirens switched on per WIB day, stacked by what sounded them (local button, "
            "confirmed incident, area alarm, operator, test).",
            [
                InfluxQuery(
                    "A",
                    'SELECT sum("count") FROM "siren" WHERE "action" = \'on\' AND $timeFilter '
                    f'GROUP BY {WIB_DAY}, "trigger" fill(0)',
                    alias="$tag_trigger",
                )
            ],
            bars=True,
        ),
        rows(
            "Daftar pos",
            "Every post with its gateway's state now and when the cloud last heard from it; "
            "offline posts first.",
            [
                SqlQuery(
                    "A",
                    'SELECT gateway_id AS "Gateway", post_name AS "Pos", '
                    'kecamatan_name AS "Kecamatan", kampung_name AS "Kampung", '
                    'online AS "Online", last_seen_at AS "Terakhir terdengar" '
                    "FROM grafana_posts ORDER BY online, gateway_id",
                )
            ],
        ),
    ]
    return dashboard(
        uid=UID,
        title="Kesehatan Perangkat",
        description="Fleet health: online posts, heartbeat gaps, outbox depth, power, CPU "
        "temperature, signal, intake latency and sirens.",
        tags=["kentongan"],
        panels=panels,
    )
