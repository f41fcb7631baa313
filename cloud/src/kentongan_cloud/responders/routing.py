"""Routing: incident type and area → agencies → the order in which their people are paged."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kentongan_protocol.provisioning.district import Agency, AgencyKind, District, Person

from kentongan_cloud.ports import IncidentNotice
from kentongan_cloud.responders.models import Drill, IncidentFacts, Recipient
from kentongan_cloud.responders.roster import ladder, local_time, on_call


@dataclass(frozen=True)
class Track:
    """One agency's escalation ladder for an incident; `first` people are paged at once."""

    agency_id: str
    agency_name: str
    tier: str
    ladder: tuple[str, ...]
    first: tuple[str, ...]

    @property
    def escalates(self) -> bool:
        """Kampung-tier agencies (Ketua RT) are neighbours, not responders: when none of
        them answers, the next person is tried, but the command centre is not paged."""
        return self.tier != "kampung"


@dataclass(frozen=True)
class Plan:
    """Who is paged for an incident: agency tracks, the command centre, and its feeds."""

    tracks: tuple[Track, ...] = ()
    command_centre: Track | None = None
    feeds: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.tracks and not self.feeds and self.command_centre is None


def is_feed(person: Person) -> bool:
    """A system rather than a person: every channel is a webhook."""
    return all(c.type == "webhook" for c in person.channels)


def covers_place(agency: Agency, kecamatan: str, kampung: str) -> bool:
    if agency.tier == "kabupaten":
        return True
    if agency.tier == "kecamatan":
        return kecamatan in agency.kecamatan
    return kampung in agency.kampung


def covers_area(agency: Agency, notice: IncidentNotice) -> bool:
    return covers_place(agency, notice.kecamatan, notice.kampung)


def agency_kinds(district: District, incident_type: str) -> list[AgencyKind]:
    kinds: list[AgencyKind] = []
    for rule in district.routing:
        if incident_type in rule.incident_types:
            kinds.extend(k for k in rule.agency_kinds if k not in kinds)
    return kinds


def _track(agency: Agency, when: datetime, tz: str, allowed: set[str] | None) -> Track | None:
    local = local_time(when, tz)
    feeds = frozenset(p.id for p in agency.people if is_feed(p))
    exclude = feeds if agency.kind == "command_centre" else frozenset()
    people = ladder(agency, local, exclude=exclude)
    if allowed is not None and agency.id not in allowed:
        people = [p for p in people if p.id in allowed]
    if not people:
        return None
    called = {p.id for p in on_call(agency, local)}
    first = [p.id for p in people if p.id in called] or [people[0].id]
    return Track(agency.id, agency.name, agency.tier, tuple(p.id for p in people), tuple(first))


def plan(
    district: District, notice: IncidentNotice, when: datetime, drill: Drill | None = None
) -> Plan:
    """The paging plan for a notice at `when`. Test incidents page nobody; exercises page
    only the participants of the matching drill (nobody when no drill matches)."""
    if notice.status == "test":
        return Plan()
    allowed: set[str] | None = None
    if notice.status == "exercise":
        if drill is None:
            return Plan()
        allowed = set(drill.participants)
    tz = district.district.timezone
    cc_id = district.escalation.command_centre
    kinds = agency_kinds(district, notice.incident_type)
    tracks: list[Track] = []
    for kind in kinds:
        for agency in district.agencies:
            if agency.kind != kind or agency.id == cc_id or not covers_area(agency, notice):
                continue
            track = _track(agency, when, tz, allowed)
            if track is not None:
                tracks.append(track)
    cc_agency = next((a for a in district.agencies if a.id == cc_id), None)
    cc_track: Track | None = None
    feeds: tuple[str, ...] = ()
    if cc_agency is not None:
        cc_track = _track(cc_agency, when, tz, allowed)
        feeds = tuple(
            p.id
            for p in cc_agency.people
            if is_feed(p) and (allowed is None or p.id in allowed or cc_agency.id in allowed)
        )
    return Plan(tuple(tracks), cc_track, feeds)


def people_by_id(district: District) -> dict[str, tuple[Agency, Person]]:
    return {p.id: (a, p) for a in district.agencies for p in a.people}


def recipient(district: District, person_id: str) -> Recipient:
    agency, person = people_by_id(district)[person_id]
    return Recipient(
        person_id=person.id,
        name=person.name,
        role=person.role,
        agency_id=agency.id,
        agency_name=agency.name,
        agency_kind=agency.kind,
        tier=agency.tier,
        channels=list(person.channels),
    )


def facts(district: District, notice: IncidentNotice) -> IncidentFacts:
    """Names and CAP fields from the district file (unknown ids degrade to the raw id)."""
    kec = next((k for k in district.kecamatan if k.id == notice.kecamatan), None)
    itype = district.incident_types.get(notice.incident_type)
    return IncidentFacts(
        kecamatan_name=kec.name if kec else notice.kecamatan,
        district_name=district.district.name,
        timezone=district.district.timezone,
        cap_category=itype.cap_category if itype else "Other",
        severity=itype.severity if itype else "Unknown",
        urgency=itype.urgency if itype else "Unknown",
    )
