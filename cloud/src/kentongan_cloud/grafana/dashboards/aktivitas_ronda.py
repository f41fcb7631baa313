"""Aktivitas Ronda: are the posts staffed, do the guards check in, are the buttons tested?"""

# Query text is built from constants when the dashboards are generated, never from input.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

from kentongan_cloud.grafana.dashboards.kit import (
    bars_per_series,
    big_number,
    dashboard,
    time_series,
)
from kentongan_cloud.grafana.dashboards.queries import WIB_DAY, InfluxQuery, SqlQuery

UID = "kentongan-aktivitas-ronda"

CHECK_INS = 'FROM "press" WHERE "kind" = \'duty_check_in\' AND $timeFilter'
BUTTON_TESTS = 'FROM "press" WHERE "status" = \'test\' AND $timeFilter'
SIREN_TESTS = 'FROM "siren" WHERE "trigger" = \'test\' AND "action" = \'on\' AND $timeFilter'


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    panels = [
        big_number(
            "Pos dijaga sekarang",
            "Posts whose guards have checked in for duty and not yet checked out.",
            [
                SqlQuery(
                    "A", 'SELECT count(*) FILTER (WHERE on_duty) AS "on_duty" FROM grafana_posts'
                )
            ],
            w=6,
        ),
        big_number(
            "Check-in piket",
            "Duty check-ins (the duty button at the post) in the selected time range.",
            [InfluxQuery("A", f'SELECT sum("count") {CHECK_INS}')],
            w=6,
        ),
        big_number(
            "Uji tombol",
            "Button presses made in maintenance (test) mode in the selected time range.",
            [InfluxQuery("A", f'SELECT sum("count") {BUTTON_TESTS}')],
            w=6,
        ),
        big_number(
            "Uji sirene",
            "Siren self-tests in the selected time range.",
            [InfluxQuery("A", f'SELECT sum("count") {SIREN_TESTS}')],
            w=6,
        ),
        time_series(
            "Pos dijaga",
            "Number of posts on duty in each interval (a post counts when any heartbeat in "
            "the interval said its guards were on duty).",
            [
                InfluxQuery(
                    "A",
                    'SELECT sum("on_duty") FROM (SELECT max("on_duty") AS "on_duty" '
                    'FROM "gateway_health" WHERE $timeFilter GROUP BY time($__interval), '
                    '"gateway") WHERE $timeFilter GROUP BY time($__interval)',
                    alias="pos dijaga",
                )
            ],
        ),
        time_series(
            "Check-in piket per hari menurut kecamatan",
            "Duty check-ins per WIB day (00:00-24:00 UTC+7), stacked by kecamatan.",
            [
                InfluxQuery(
                    "A",
                    f'SELECT sum("count") {CHECK_INS} GROUP BY {WIB_DAY}, "kecamatan" fill(0)',
                    alias="$tag_kecamatan",
                )
            ],
            bars=True,
        ),
        bars_per_series(
            "Check-in piket per pos",
            "Duty check-ins of each post in the selected time range.",
            [
                InfluxQuery(
                    "A", f'SELECT sum("count") {CHECK_INS} GROUP BY "gateway"', "$tag_gateway"
                )
            ],
            w=8,
        ),
        bars_per_series(
            "Uji tombol per pos",
            "Test-mode button presses of each post in the selected time range: a post that "
            "never tests may have a broken button.",
            [
                InfluxQuery(
                    "A", f'SELECT sum("count") {BUTTON_TESTS} GROUP BY "gateway"', "$tag_gateway"
                )
            ],
            w=8,
        ),
        bars_per_series(
            "Uji sirene per pos",
            "Siren self-tests of each post in the selected time range.",
            [
                InfluxQuery(
                    "A", f'SELECT sum("count") {SIREN_TESTS} GROUP BY "gateway"', "$tag_gateway"
                )
            ],
            w=8,
        ),
        time_series(
            "Tombol darurat per hari menurut jenis",
            "Real panic-button presses per WIB day, stacked by incident type (every press "
            "counts, also those that joined an open incident).",
            [
                InfluxQuery(
                    "A",
                    'SELECT sum("count") FROM "press" WHERE "kind" = \'panic\' '
                    "AND \"status\" = 'actual' AND $timeFilter "
                    f'GROUP BY {WIB_DAY}, "type" fill(0)',
                    alias="$tag_type",
                )
            ],
            bars=True,
            w=24,
        ),
    ]
    return dashboard(
        uid=UID,
        title="Aktivitas Ronda",
        description="Neighbourhood watch activity: staffed posts, duty check-ins and tests per "
        "post.",
        tags=["kentongan"],
        panels=panels,
    )
