"""Which incidents one responder agency may see: those routed to it by the district's rules
(actual incidents of a type its kind answers, in its area) and those it was paged for
(escalations, drills)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.store.incidents import incidents
from kentongan_cloud.store.responders import pages


@dataclass(frozen=True, slots=True)
class AgencyReach:
    agency_id: str
    incident_types: frozenset[str]
    everywhere: bool  # a kabupaten-tier agency
    kecamatan: frozenset[str]
    kampung: frozenset[str]

    def clause(self) -> ColumnElement[bool]:
        c = incidents.c
        area = (
            true()
            if self.everywhere
            else or_(c.kecamatan.in_(self.kecamatan), c.kampung.in_(self.kampung))
        )
        routed = (
            and_(c.status == "actual", c.incident_type.in_(self.incident_types), area)
            if self.incident_types
            else false()
        )
        paged = c.id.in_(select(pages.c.incident_id).where(pages.c.agency_id == self.agency_id))
        return or_(routed, paged)

    async def reaches(self, conn: AsyncConnection, incident_id: str) -> bool:
        q = select(incidents.c.id).where(incidents.c.id == incident_id, self.clause())
        return (await conn.scalar(q)) is not None
