"""Pusat Komando: what is happening now, where, and how fast the district responds."""

# Query text is built from constants when the dashboards are generated, never from input.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

from kentongan_cloud.grafana.dashboards.kit import (
    big_number,
    dashboard,
    map_of_posts,
    rows,
    time_series,
)
from kentongan_cloud.grafana.dashboards.panels import posts_offline
from kentongan_cloud.grafana.dashboards.queries import OPEN_STATES, WIB_DAY, InfluxQuery, SqlQuery

UID = "kentongan-pusat-komando"
# The sample district (Lampung Tengah) centre; operators pan and zoom from there.
MAP_CENTRE = (-5, 105)
MAP_ZOOM = 9

OPEN = f"state IN {OPEN_STATES} AND status = 'actual'"


def _opened_per_day(tag: str) -> InfluxQuery:
    return InfluxQuery(
        "A",
        'SELECT sum("count") FROM "incident_step" WHERE "step" = \'opened\' '
        f'AND "status" = \'actual\' AND $timeFilter GROUP BY {WIB_DAY}, "{tag}" fill(0)',
        alias=f"$tag_{tag}",
    )


def _time_to(step: str) -> InfluxQuery:
    return InfluxQuery(
        "A",
        'SELECT percentile("since_open_s", 50) AS "p50", percentile("since_open_s", 90) AS "p90" '
        f'FROM "incident_step" WHERE "step" = \'{step}\' AND "status" = \'actual\' '
        f"AND $timeFilter GROUP BY {WIB_DAY}",
        alias="$col",
    )


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    panels = [
        big_number(
            "Insiden terbuka",
            "Real incidents (not exercises or tests) that are new, acknowledged or dispatched.",
            [SqlQuery("A", f'SELECT count(*) AS "open" FROM grafana_incidents WHERE {OPEN}')],
            thresholds=((None, "green"), (1, "red")),
            w=6,
        ),
        big_number(
            "Insiden terbuka tereskalasi",
            "Open real incidents that nobody acknowledged in time and went up a tier.",
            [
                SqlQuery(
                    "A",
                    'SELECT count(*) AS "escalated" FROM grafana_incidents '
                    f"WHERE {OPEN} AND escalation_level > 0",
                )
            ],
            thresholds=((None, "green"), (1, "orange")),
            w=6,
        ),
        posts_offline(),
        big_number(
            "Insiden dalam rentang waktu",
            "Real incidents opened in the selected time range.",
            [
                InfluxQuery(
                    "A",
                    'SELECT sum("count") FROM "incident_step" WHERE "step" = \'opened\' '
                    "AND \"status\" = 'actual' AND $timeFilter",
                )
            ],
            w=6,
        ),
        map_of_posts(
            "Peta pos dan insiden terbuka",
            "Every post (green online, red offline) and every open real incident (large red "
            "dots) at its reported position. Hover for the post or incident details.",
            SqlQuery(
                "A",
                "SELECT gateway_id, post_name, kecamatan_name, kampung_name, lat, lon, "
                "CASE WHEN online THEN 1 ELSE 0 END AS online FROM grafana_posts "
                "ORDER BY gateway_id",
            ),
            SqlQuery(
                "B",
                "SELECT incident_id, type_label, state, kampung_name, post_name, lat, lon, "
                f"opened_at, escalation_level FROM grafana_incidents WHERE {OPEN} "
                "ORDER BY opened_at",
            ),
            centre=MAP_CENTRE,
            zoom=MAP_ZOOM,
        ),
        rows(
            "Insiden terbuka (daftar)",
            "Open real incidents, oldest first, with their escalation tier and whether a "
            "second activation confirmed them.",
            [
                SqlQuery(
                    "A",
                    'SELECT opened_at AS "Dibuka", type_label AS "Jenis", state AS "Status", '
                    'kecamatan_name AS "Kecamatan", kampung_name AS "Kampung", '
                    "COALESCE(post_name, 'laporan warga') AS \"Pos\", "
                    'escalation_level AS "Eskalasi", confirmed AS "Terkonfirmasi" '
                    f"FROM grafana_incidents WHERE {OPEN} ORDER BY opened_at",
                )
            ],
            h=14,
        ),
        time_series(
            "Insiden per hari menurut jenis",
            "Real incidents opened per WIB day (00:00-24:00 UTC+7), stacked by incident type.",
            [_opened_per_day("type")],
            bars=True,
        ),
        time_series(
            "Insiden per hari menurut kecamatan",
            "Real incidents opened per WIB day, stacked by kecamatan.",
            [_opened_per_day("kecamatan")],
            bars=True,
        ),
        time_series(
            "Waktu sampai diakui (p50/p90)",
            "Seconds from an incident opening to its first acknowledgement, median and 90th "
            "percentile of the incidents acknowledged each WIB day.",
            [_time_to("acknowledged")],
            unit="s",
            w=8,
        ),
        time_series(
            "Waktu sampai diberangkatkan (p50/p90)",
            "Seconds from an incident opening to a responder being dispatched, per WIB day.",
            [_time_to("dispatched")],
            unit="s",
            w=8,
        ),
        time_series(
            "Waktu sampai selesai (p50/p90)",
            "Seconds from an incident opening to its resolution, per WIB day.",
            [_time_to("resolved")],
            unit="s",
            w=8,
        ),
        time_series(
            "Eskalasi per hari menurut tingkat",
            "Escalations per WIB day: an incident nobody acknowledged in time went up to the "
            "next tier (1 = kecamatan, 2 = kabupaten command centre).",
            [
                InfluxQuery(
                    "A",
                    'SELECT sum("count") FROM "incident_step" WHERE "step" = \'escalated\' '
                    f'AND "status" = \'actual\' AND $timeFilter GROUP BY {WIB_DAY}, "tier" '
                    "fill(0)",
                    alias="tingkat $tag_tier",
                )
            ],
            bars=True,
        ),
        rows(
            "Insiden tereskalasi dalam rentang waktu",
            "Real incidents opened in the selected range that escalated at least once, "
            "newest first.",
            [
                SqlQuery(
                    "A",
                    'SELECT opened_at AS "Dibuka", type_label AS "Jenis", '
                    'kecamatan_name AS "Kecamatan", kampung_name AS "Kampung", '
                    'state AS "Status", escalation_level AS "Eskalasi" FROM grafana_incidents '
                    "WHERE escalation_level > 0 AND status = 'actual' "
                    "AND $__timeFilter(opened_at) ORDER BY opened_at DESC",
                )
            ],
        ),
    ]
    return dashboard(
        uid=UID,
        title="Pusat Komando",
        description="Command centre: open incidents on the map, incidents per day, response "
        "times and escalations. Incident steps appear as annotations.",
        tags=["kentongan"],
        panels=panels,
    )
