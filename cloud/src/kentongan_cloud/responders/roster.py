"""Who is on shift: shifts are in the district's local time (WIB for Lampung)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from kentongan_protocol.provisioning.district import Agency, Person, Shift

WEEKDAYS = ("sen", "sel", "rab", "kam", "jum", "sab", "min")  # Monday first, like datetime
ZONE_ABBREVIATIONS = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
_END_OF_DAY = time(23, 59)


def local_time(when: datetime, timezone: str) -> datetime:
    return when.astimezone(ZoneInfo(timezone))


def _covers(shift: Shift, local: datetime) -> bool:
    """True when `local` falls in the shift. A shift ending before it starts runs past
    midnight (its day is the day it starts); start == end means all day; an end of 23:59
    means to midnight."""
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
    now = local.time().replace(tzinfo=None)
    start, end = shift.start, shift.end
    if start == end:
        return today in shift.days
    if start < end:
        if end == _END_OF_DAY:
            return today in shift.days and now >= start
        return today in shift.days and start <= now < end
    return (today in shift.days and now >= start) or (yesterday in shift.days and now < end)


def on_shift(person: Person, local: datetime) -> bool:
    """People without shifts are never "on shift": they are reached as the agency's fallback
    or as the next person when escalating."""
    return any(_covers(s, local) for s in person.shifts)


def on_call(agency: Agency, local: datetime) -> list[Person]:
    """Everyone on shift now, else the agency's fallback person."""
    people = [p for p in agency.people if on_shift(p, local)]
    if people:
        return people
    return [p for p in agency.people if p.id == agency.fallback] or agency.people[:1]


def ladder(agency: Agency, local: datetime, exclude: frozenset[str] = frozenset()) -> list[Person]:
    """The order to page an agency's people: on call, then the fallback, then the rest as
    listed in the district file."""
    order: list[Person] = []
    seen: set[str] = set(exclude)
    fallback = [p for p in agency.people if p.id == agency.fallback]
    for p in [*on_call(agency, local), *fallback, *agency.people]:
        if p.id not in seen:
            seen.add(p.id)
            order.append(p)
    return order
