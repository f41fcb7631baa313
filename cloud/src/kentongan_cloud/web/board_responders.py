"""The responders' side of each board row: escalation step, who was paged on which channel
and when, and who acknowledged. Texts come translated, so the page's script only places them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from kentongan_protocol.provisioning.district import District
from pydantic import BaseModel, ConfigDict

from kentongan_cloud.responders.escalation import EscalationState
from kentongan_cloud.responders.routing import people_by_id
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.store.responder_board import IncidentResponders, LastTry, responders_of
from kentongan_cloud.web.i18n import Lang, translator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Paged(_Frozen):
    """One person paged: the last try on which channel and how it went."""

    who: str
    agency: str
    channel: str
    outcome: str
    at: str
    acked: bool


class Acked(_Frozen):
    who: str
    agency: str
    channel: str
    at: str


class ResponderView(_Frozen):
    """What the board shows of the responders' work on one incident."""

    status: str
    status_text: str
    step: int
    max_steps: int
    command_centre: bool
    waiting_on: list[str]
    paged: list[Paged]
    acked: list[Acked]


def _clock(ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz).strftime("%H:%M")


def _outcome(t: Callable[[str], str], last: LastTry | None, acked: bool) -> tuple[str, str]:
    """(channel, what happened): an answered page needs no channel story."""
    if acked:
        return (last.channel_type if last else ""), t("page_acked")
    if last is None:
        return "", t("page_queued")
    return last.channel_type, t(f"page_{last.outcome}")


def _view(found: IncidentResponders, district: District, lang: Lang) -> ResponderView:
    t = translator(lang)
    tz = ZoneInfo(district.district.timezone)
    people = people_by_id(district)
    agencies = {a.id: a.name for a in district.agencies}

    def name(person_id: str) -> str:
        known = people.get(person_id)
        return known[1].name if known else person_id

    state = EscalationState.model_validate_json(found.state_json)
    ladders = state.ladders()
    cc = state.command_centre
    paged = []
    for p in found.pages:
        channel, outcome = _outcome(t, p.last_try, p.acked_ms is not None)
        at_ms = p.last_try.at_ms if p.last_try else p.created_ms
        paged.append(
            Paged(
                who=name(p.person_id),
                agency=agencies.get(p.agency_id, p.agency_id),
                channel=channel,
                outcome=outcome,
                at=_clock(at_ms, tz),
                acked=p.acked_ms is not None,
            )
        )
    return ResponderView(
        status=found.status,
        status_text=t(f"esc_{found.status}"),
        step=max((ladder.rounds for ladder in ladders), default=0),
        max_steps=district.escalation.max_rounds,
        command_centre=cc is not None and cc.rounds > 0 and bool(state.tracks),
        waiting_on=[ladder.agency_name for ladder in ladders if ladder.waiting],
        paged=paged,
        acked=[
            Acked(
                who=name(a.person_id),
                agency=agencies.get(a.agency_id, a.agency_id),
                channel=a.channel,
                at=_clock(a.at_ms, tz),
            )
            for a in found.acks
        ],
    )


async def responder_views(
    rt: CloudRuntime, incident_ids: Sequence[str], lang: Lang
) -> dict[str, ResponderView]:
    """Views by incident id; empty when this deployment pages no responders."""
    if rt.responders is None or not incident_ids:
        return {}
    async with rt.responders.store.begin() as tx:
        found = await responders_of(tx.conn, incident_ids)
    district = rt.directory.district
    return {iid: _view(f, district, lang) for iid, f in found.items()}
