"""The committed dashboards and provisioning, checked as strictly as Grafana would load them."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from kentongan_cloud.grafana.annotations import ANNOTATION_TAG
from kentongan_cloud.grafana.dashboards.build import BUILDERS, rendered
from kentongan_cloud.grafana.dashboards.queries import (
    INFLUX_TYPE,
    INFLUX_UID,
    POSTGRES_TYPE,
    POSTGRES_UID,
)
from kentongan_cloud.timeseries.measurements import MEASUREMENTS
from kentongan_testkit.dashboards import DASHBOARD_DIR, REPO, committed_dashboards, targets

PROVISIONING = REPO / "dashboards" / "provisioning"
SOURCES = {INFLUX_UID: INFLUX_TYPE, POSTGRES_UID: POSTGRES_TYPE}
BOARDS = committed_dashboards()
PANELS = [(name, panel) for name, board in BOARDS.items() for panel in board["panels"]]  # type: ignore[attr-defined]


def test_the_committed_json_is_what_the_generator_makes() -> None:
    """Fails when someone edits dashboards/json by hand or changes the code without rebuilding
    (`python -m kentongan_cloud.grafana.dashboards.build`)."""
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DASHBOARD_DIR.glob("*.json")}
    assert on_disk == rendered()


def test_the_three_dashboards_have_stable_uids_and_titles() -> None:
    assert {(b["uid"], b["title"]) for b in BOARDS.values()} == {
        ("kentongan-pusat-komando", "Pusat Komando"),
        ("kentongan-kesehatan-perangkat", "Kesehatan Perangkat"),
        ("kentongan-aktivitas-ronda", "Aktivitas Ronda"),
    }
    assert set(BUILDERS) == set(BOARDS)
    for board in BOARDS.values():
        assert board["timezone"] == "Asia/Jakarta"
        (annotation,) = board["annotations"]["list"]  # type: ignore[index]
        assert annotation["target"] == {
            "type": "tags",
            "tags": [ANNOTATION_TAG],
            "matchAny": False,
            "limit": 500,
        }


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panels_tile_the_grid_without_overlap(name: str) -> None:
    taken: set[tuple[int, int]] = set()
    ids = []
    for panel in BOARDS[name]["panels"]:  # type: ignore[attr-defined]
        ids.append(panel["id"])
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert 0 < pos["w"] <= 24 - pos["x"], panel["title"]
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("name", "panel"), PANELS, ids=lambda v: v if isinstance(v, str) else "")
def test_each_panel_is_described_and_queries_one_provisioned_source(
    name: str, panel: dict[str, Any]
) -> None:
    description = panel["description"]
    assert re.fullmatch(r"[A-Z][\x20-\x7e°]+[.)]", description), f"{name}: {panel['title']}"
    uid = panel["datasource"]["uid"]
    assert SOURCES[uid] == panel["datasource"]["type"]
    refs = [t["refId"] for t in panel["targets"]]
    assert len(refs) == len(set(refs))
    assert {t["datasource"]["uid"] for t in panel["targets"]} == {uid}


def test_influxql_uses_our_measurements_and_wib_days() -> None:
    influx = [t for t in targets() if t.datasource == INFLUX_UID]
    assert influx
    for target in influx:
        for measurement in re.findall(r'FROM "(\w+)"', target.text):
            assert measurement in MEASUREMENTS, target.key
        # A day is a WIB day: every day bucket is shifted by -7h.
        assert not re.search(r"time\(1d\)|time\(1d,\s*[^-]", target.text), target.key
        assert "$timeFilter" in target.text, target.key


def test_datasources_are_provisioned_with_the_uids_the_panels_use() -> None:
    doc = yaml.safe_load((PROVISIONING / "datasources" / "kentongan.yaml").read_text())
    sources = {d["uid"]: d for d in doc["datasources"]}
    assert {uid: d["type"] for uid, d in sources.items()} == SOURCES
    influx = sources[INFLUX_UID]
    assert influx["jsonData"]["version"] == "InfluxQL"
    assert influx["jsonData"]["dbName"] == "kentongan"
    assert influx["jsonData"]["httpHeaderName1"] == "Authorization"
    assert influx["secureJsonData"]["httpHeaderValue1"] == "Token ${KENTONGAN_INFLUX__TOKEN}"
    postgres = sources[POSTGRES_UID]
    assert postgres["jsonData"]["database"] == "kentongan"
    assert postgres["secureJsonData"]["password"] == "${KENTONGAN_POSTGRES_PASSWORD}"


def test_grafana_in_compose_gets_the_provisioning_the_files_expect() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "kentongan.yaml").read_text())
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert f"./dashboards/json:{entry['options']['path']}:ro" in grafana["volumes"]
    assert "./dashboards/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    # The secrets the datasources interpolate reach the container.
    for var in ("KENTONGAN_INFLUX__TOKEN", "KENTONGAN_POSTGRES_PASSWORD"):
        assert var in grafana["environment"]
    influxdb = compose["services"]["influxdb"]
    assert "./dashboards/influxdb-init:/docker-entrypoint-initdb.d:ro" in influxdb["volumes"]
    init = (REPO / "dashboards" / "influxdb-init" / "10-dbrp.sh").read_text()
    assert "influx v1 dbrp create" in init
    assert "--db kentongan" in init
