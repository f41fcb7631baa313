"""Panel and dashboard building blocks: the only module of ours that imports
grafana-foundation-sdk. The dashboard modules speak our own query types and these helpers.

The SDK has no InfluxQL or PostgreSQL query types, so the two `Dataquery` variants below
write the targets Grafana's InfluxDB (raw InfluxQL) and PostgreSQL (code mode) editors save.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import geomap as geomap_b
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_m
from grafana_foundation_sdk.models import dashboard as dash_m
from grafana_foundation_sdk.models import geomap as geomap_m

from kentongan_cloud.grafana.dashboards.queries import (
    INFLUX_TYPE,
    INFLUX_UID,
    POSTGRES_TYPE,
    POSTGRES_UID,
    InfluxQuery,
    Query,
    SqlQuery,
)

INFLUX = dash_m.DataSourceRef(type_val=INFLUX_TYPE, uid=INFLUX_UID)
POSTGRES = dash_m.DataSourceRef(type_val=POSTGRES_TYPE, uid=POSTGRES_UID)
GRAFANA = dash_m.DataSourceRef(type_val="grafana", uid="-- Grafana --")
ANNOTATION_TAG = "kentongan"
"""Every annotation the cloud posts carries this tag; the dashboards show those."""


class _Target(cogvariants.Dataquery):
    def __init__(self, payload: dict[str, object]) -> None:
        self._payload = payload

    def to_json(self) -> dict[str, object]:
        return self._payload


class _TargetBuilder(cogbuilder.Builder[cogvariants.Dataquery]):
    def __init__(self, query: Query) -> None:
        payload: dict[str, object]
        if isinstance(query, InfluxQuery):
            payload = {
                "refId": query.ref_id,
                "datasource": {"type": INFLUX_TYPE, "uid": INFLUX_UID},
                "query": query.query,
                "rawQuery": True,
                "resultFormat": query.result_format,
            }
            if query.alias is not None:
                payload["alias"] = query.alias
        else:
            payload = {
                "refId": query.ref_id,
                "datasource": {"type": POSTGRES_TYPE, "uid": POSTGRES_UID},
                "rawSql": query.sql,
                "rawQuery": True,
                "editorMode": "code",
                "format": query.format,
            }
        self._target = _Target(payload)

    def build(self) -> cogvariants.Dataquery:
        return self._target


def _source(queries: Sequence[Query]) -> dash_m.DataSourceRef:
    kinds = {type(q) for q in queries}
    if len(kinds) != 1:
        msg = "a panel's queries must all use one datasource"
        raise ValueError(msg)
    return POSTGRES if kinds == {SqlQuery} else INFLUX


def _thresholds(steps: Sequence[tuple[float | None, str]]) -> dash_b.ThresholdsConfig:
    return (
        dash_b.ThresholdsConfig()
        .mode(dash_m.ThresholdsMode.ABSOLUTE)
        .steps([dash_m.Threshold(value=value, color=color) for value, color in steps])
    )


def _mappings(texts: dict[int, tuple[str, str]]) -> list[dash_m.ValueMapping]:
    options = {
        str(value): dash_m.ValueMappingResult(text=text, color=color, index=i)
        for i, (value, (text, color)) in enumerate(sorted(texts.items()))
    }
    return [dash_m.ValueMap(options=options)]


@dataclass(frozen=True, slots=True)
class Placed:
    """A panel with its width (of 24 columns) and height (rows)."""

    panel: cogbuilder.Builder[dash_m.Panel]
    w: int
    h: int


PanelBuilder = Any  # the SDK's panel builders share methods but no common base type


def _common(
    panel: PanelBuilder, title: str, description: str, queries: Sequence[Query]
) -> PanelBuilder:
    panel.title(title).description(description).datasource(_source(queries))
    for query in queries:
        panel.with_target(_TargetBuilder(query))
    return panel


def time_series(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str = "short",
    bars: bool = False,
    w: int = 12,
    h: int = 8,
) -> Placed:
    """A graph over time; `bars` stacks one bar per bucket (counts per WIB day)."""
    panel = _common(timeseries.Panel(), title, description, queries).unit(unit).min(0)
    if bars:
        panel.draw_style(common_m.GraphDrawStyle.BARS).fill_opacity(80).stacking(
            common_b.StackingConfig().mode(common_m.StackingMode.NORMAL)
        )
    else:
        panel.draw_style(common_m.GraphDrawStyle.LINE).span_nulls(False)
    panel.legend(
        common_b.VizLegendOptions()
        .display_mode(common_m.LegendDisplayMode.TABLE)
        .placement(common_m.LegendPlacement.RIGHT)
        .show_legend(True)
        .calcs(["sum"] if bars else ["max"])
    )
    return Placed(panel, w, h)


def big_number(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    thresholds: Sequence[tuple[float | None, str]] = ((None, "green"),),
    w: int = 4,
    h: int = 4,
) -> Placed:
    """One number (the last value), coloured by thresholds."""
    panel = (
        _common(stat.Panel(), title, description, queries)
        .unit("short")
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .color_mode(common_m.BigValueColorMode.BACKGROUND)
        .graph_mode(common_m.BigValueGraphMode.NONE)
        .thresholds(_thresholds(thresholds))
    )
    return Placed(panel, w, h)


def rows(
    title: str, description: str, queries: Sequence[Query], *, w: int = 12, h: int = 8
) -> Placed:
    """A table of rows as the query returns them."""
    panel = _common(table.Panel(), title, description, queries).filterable(True)
    return Placed(panel, w, h)


def states(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    texts: dict[int, tuple[str, str]],
    w: int = 12,
    h: int = 8,
) -> Placed:
    """A state timeline, one lane per series; `texts` names and colours each value."""
    panel = (
        _common(statetimeline.Panel(), title, description, queries)
        .mappings(_mappings(texts))
        .show_value(common_m.VisibilityMode.NEVER)
        .merge_values(True)
        .fill_opacity(80)
    )
    return Placed(panel, w, h)


def bars_per_series(
    title: str, description: str, queries: Sequence[Query], *, w: int = 12, h: int = 8
) -> Placed:
    """Horizontal bars, one per series (per post), of the series' total."""
    panel = (
        _common(bargauge.Panel(), title, description, queries)
        .unit("short")
        .min(0)
        .orientation(common_m.VizOrientation.HORIZONTAL)
        .display_mode(common_m.BarGaugeDisplayMode.BASIC)
        .reduce_options(common_b.ReduceDataOptions().calcs(["sum"]).values(False))
        .thresholds(_thresholds(((None, "blue"),)))
    )
    return Placed(panel, w, h)


def _markers(name: str, ref_id: str, color: dict[str, object], size: float) -> Any:
    return (
        common_b.MapLayerOptions()
        .type("markers")
        .name(name)
        .tooltip(True)
        .location(
            common_b.FrameGeometrySource()
            .mode(common_m.FrameGeometrySourceMode.COORDS)
            .latitude("lat")
            .longitude("lon")
        )
        .filter_data({"id": "byRefId", "options": ref_id})
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": color,
                    "size": {"fixed": size},
                    "opacity": 0.8,
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                },
            }
        )
    )


def map_of_posts(
    title: str,
    description: str,
    posts: SqlQuery,
    incidents: SqlQuery,
    *,
    centre: tuple[int, int],
    zoom: int,
    w: int = 12,
    h: int = 14,
) -> Placed:
    """Posts (green online, red offline, by their `online` column) and open incidents."""
    panel = (
        _common(geomap_b.Panel(), title, description, [posts, incidents])
        .basemap(common_b.MapLayerOptions().type("default").name("Basemap"))
        .view(geomap_b.MapViewConfig().id("coords").lat(centre[0]).lon(centre[1]).zoom(zoom))
        .layers(
            [
                _markers("Pos", posts.ref_id, {"field": "online", "fixed": "green"}, 6),
                _markers("Insiden terbuka", incidents.ref_id, {"fixed": "red"}, 12),
            ]
        )
        .thresholds(_thresholds(((None, "red"), (1, "green"))))
        .color_scheme(dash_b.FieldColor().mode(dash_m.FieldColorModeId.THRESHOLDS))
        .tooltip(geomap_b.TooltipOptions().mode(geomap_m.TooltipMode.DETAILS))
    )
    return Placed(panel, w, h)


def dashboard(
    *, uid: str, title: str, description: str, tags: Sequence[str], panels: Sequence[Placed]
) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model, panels flowed left to right in rows of 24."""
    board = (
        dash_b.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(list(tags))
        .timezone("Asia/Jakarta")
        .time("now-7d", "now")
        .refresh("1m")
        .editable()
        .annotation(
            dash_b.AnnotationQuery()
            .name("Insiden")
            .datasource(GRAFANA)
            .enable(True)
            .icon_color("red")
            .target(
                dash_b.AnnotationTarget()
                .type("tags")
                .tags([ANNOTATION_TAG])
                .match_any(False)
                .limit(500)
            )
        )
    )
    x = y = row_h = 0
    for i, placed in enumerate(panels, start=1):
        if x + placed.w > 24:
            x, y, row_h = 0, y + row_h, 0
        built = placed.panel.build()
        built.id_val = i
        built.grid_pos = dash_m.GridPos(h=placed.h, w=placed.w, x=x, y=y)
        board.with_panel(_Built(built))
        x += placed.w
        row_h = max(row_h, placed.h)
    model: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return model


class _Built(cogbuilder.Builder[dash_m.Panel]):
    def __init__(self, panel: dash_m.Panel) -> None:
        self._panel = panel

    def build(self) -> dash_m.Panel:
        return self._panel
