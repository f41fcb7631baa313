"""The live board's data: open incidents as the console shows them, newest first."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from kentongan_cloud.domain.incident import Incident
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.web.board_responders import ResponderView, responder_views
from kentongan_cloud.web.i18n import Lang, translator

BOARD_LIMIT = 200


class BoardRow(BaseModel):
    """One open incident on the board (what the page and its live stream both use)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type_label: str
    state: str
    state_label: str  # the state in the reader's language
    source: str
    confirmed: bool
    historical: bool
    count: int
    kampung: str
    post: str
    lat: float
    lon: float
    opened_at: str
    acknowledged_by: str | None
    dispatched_by: str | None
    sirens_on: bool
    unverified: bool
    # None: the responders were not told (yet), or this deployment pages nobody.
    responders: ResponderView | None = None


def row_of(
    rt: CloudRuntime, inc: Incident, lang: Lang, responders: ResponderView | None = None
) -> BoardRow:
    itype = rt.directory.incident_type(inc.incident_type)
    label = (
        inc.incident_type if itype is None else (itype.label if lang == "id" else itype.label_en)
    )
    place = rt.directory.places.get(inc.kampung)
    return BoardRow(
        id=inc.id,
        type_label=label,
        state=inc.state,
        state_label=translator(lang)(f"state_{inc.state}"),
        source=inc.source,
        confirmed=inc.confirmed,
        historical=inc.historical,
        count=inc.count,
        kampung=place.kampung_name if place else inc.kampung,
        post=inc.post_name or "",
        lat=inc.lat,
        lon=inc.lon,
        opened_at=inc.opened_at.isoformat(),
        acknowledged_by=inc.acknowledged_by,
        dispatched_by=inc.dispatched_by,
        sirens_on=inc.sirens_on,
        unverified=inc.source == "web" and inc.state == "new",
        responders=responders,
    )


async def open_rows(rt: CloudRuntime, lang: Lang) -> list[BoardRow]:
    async with rt.db.transaction() as tx:
        found = await tx.incidents.search(open_only=True, limit=BOARD_LIMIT)
    views = await responder_views(rt, [i.id for i in found], lang)
    return [row_of(rt, i, lang, views.get(i.id)) for i in found]
