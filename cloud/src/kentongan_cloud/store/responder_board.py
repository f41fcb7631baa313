"""What the operator's live board shows of the responders' work, for many incidents at
once: their escalation state, who was paged (and the last try to reach them) and who
acknowledged. A handful of queries per call however many incidents, since the board's
stream asks every second."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.store.responders import acks, attempts, incidents, pages


@dataclass(frozen=True)
class LastTry:
    """The latest delivery attempt to one person: on which channel, how it went, when."""

    channel_type: str
    outcome: str
    at_ms: int


@dataclass(frozen=True)
class PageSeen:
    person_id: str
    agency_id: str
    created_ms: int
    acked_ms: int | None
    last_try: LastTry | None


@dataclass(frozen=True)
class AckSeen:
    person_id: str
    agency_id: str
    channel: str
    at_ms: int


@dataclass
class IncidentResponders:
    """One incident as the responders part knows it (`state_json` is its escalation)."""

    status: str
    state_json: str
    pages: list[PageSeen] = field(default_factory=list)
    acks: list[AckSeen] = field(default_factory=list)


async def responders_of(
    conn: AsyncConnection, incident_ids: Sequence[str]
) -> dict[str, IncidentResponders]:
    """Incidents the responders were told of, by id; the others are absent."""
    ids = list(incident_ids)
    if not ids:
        return {}
    found: dict[str, IncidentResponders] = {}
    q = select(incidents.c.incident_id, incidents.c.status, incidents.c.state_json).where(
        incidents.c.incident_id.in_(ids)
    )
    for r in await conn.execute(q):
        found[r.incident_id] = IncidentResponders(r.status, r.state_json)
    if not found:
        return {}
    last: dict[tuple[str, str], LastTry] = {}
    q = (
        select(
            attempts.c.incident_id,
            attempts.c.person_id,
            attempts.c.channel_type,
            attempts.c.outcome,
            attempts.c.at_ms,
        )
        .where(attempts.c.incident_id.in_(list(found)))
        .order_by(attempts.c.id)
    )
    for a in await conn.execute(q):  # later rows win: the latest try per person
        last[(a.incident_id, a.person_id)] = LastTry(a.channel_type, a.outcome, a.at_ms)
    q = (
        select(pages)
        .where(pages.c.incident_id.in_(list(found)))
        .order_by(pages.c.created_ms, pages.c.id)
    )
    for p in await conn.execute(q):
        found[p.incident_id].pages.append(
            PageSeen(
                p.person_id,
                p.agency_id,
                p.created_ms,
                p.acked_ms,
                last.get((p.incident_id, p.person_id)),
            )
        )
    q = select(acks).where(acks.c.incident_id.in_(list(found))).order_by(acks.c.at_ms, acks.c.id)
    for k in await conn.execute(q):
        found[k.incident_id].acks.append(AckSeen(k.person_id, k.agency_id, k.channel, k.at_ms))
    return found
