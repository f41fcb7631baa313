"""Escalation as pure state: who was paged, who answered, who is next. The state is kept as
JSON in the database with the incident's timer, so any worker can take the next step."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from kentongan_cloud.responders.models import MessageKind
from kentongan_cloud.responders.routing import Plan, Track


class Ladder(BaseModel):
    """One agency's progress (or the command centre's)."""

    model_config = ConfigDict(extra="forbid")

    agency_id: str
    agency_name: str
    escalates: bool
    ladder: list[str]
    first: list[str]
    paged: list[str] = []
    rounds: int = 0
    acked_by: str | None = None
    exhausted: bool = False

    @property
    def waiting(self) -> bool:
        return self.acked_by is None and not self.exhausted and self.rounds > 0

    @classmethod
    def of(cls, track: Track) -> Ladder:
        return cls(
            agency_id=track.agency_id,
            agency_name=track.agency_name,
            escalates=track.escalates,
            ladder=list(track.ladder),
            first=list(track.first),
        )


class EscalationState(BaseModel):
    """Everything escalation needs to know about one incident."""

    model_config = ConfigDict(extra="forbid")

    tracks: list[Ladder]
    command_centre: Ladder | None
    feeds: list[str]
    unanswered: list[str] = []
    closed: bool = False

    def ladders(self) -> list[Ladder]:
        return [*self.tracks, *([self.command_centre] if self.command_centre else [])]

    @property
    def waiting(self) -> bool:
        """True while a timer is needed: someone was paged and nobody above them answered."""
        return not self.closed and any(t.waiting for t in self.ladders())

    def paged_people(self) -> list[str]:
        seen: list[str] = []
        for person in [*self.feeds, *(p for t in self.ladders() for p in t.paged)]:
            if person not in seen:
                seen.append(person)
        return seen

    def told_agencies(self) -> list[str]:
        return [t.agency_name for t in self.ladders() if t.paged]


@dataclass(frozen=True)
class PageOrder:
    """Send one message of `kind` to one person."""

    person_id: str
    kind: MessageKind
    round: int
    not_answered_by: tuple[str, ...] = ()


def _page(ladder: Ladder, people: list[str], kind: MessageKind, why: list[str]) -> list[PageOrder]:
    for p in people:
        if p not in ladder.paged:
            ladder.paged.append(p)
    return [PageOrder(p, kind, ladder.rounds, tuple(why)) for p in people]


def _start_command_centre(state: EscalationState, kind: MessageKind) -> list[PageOrder]:
    cc = state.command_centre
    if cc is None or cc.rounds > 0:
        return []
    cc.rounds = 1
    why = list(state.unanswered)
    orders = _page(cc, cc.first, kind, why)
    return orders + [PageOrder(f, kind, 1, tuple(why)) for f in state.feeds]


def start(plan: Plan) -> tuple[EscalationState, list[PageOrder]]:
    """First round: everyone on call in each agency, and the command centre's feeds. An
    incident no agency is routed for goes straight to the command centre."""
    state = EscalationState(
        tracks=[Ladder.of(t) for t in plan.tracks],
        command_centre=Ladder.of(plan.command_centre) if plan.command_centre else None,
        feeds=list(plan.feeds),
    )
    orders: list[PageOrder] = []
    for track in state.tracks:
        track.rounds = 1
        orders += _page(track, track.first, "alert", [])
    if state.tracks:
        orders += [PageOrder(f, "alert", 1) for f in state.feeds]
    else:
        orders += _start_command_centre(state, "alert")
    return state, orders


def _advance(ladder: Ladder, max_rounds: int, kind: MessageKind, why: list[str]) -> list[PageOrder]:
    """One more round: the next person in the ladder, or a reminder to everyone paged when
    the ladder is used up. After `max_rounds` rounds the ladder is exhausted."""
    if ladder.rounds >= max_rounds:
        ladder.exhausted = True
        return []
    ladder.rounds += 1
    nxt = next((p for p in ladder.ladder if p not in ladder.paged), None)
    if nxt is not None:
        return _page(ladder, [nxt], kind, why)
    return [PageOrder(p, "reminder", ladder.rounds, tuple(why)) for p in ladder.paged]


def tick(state: EscalationState, max_rounds: int) -> list[PageOrder]:
    """The acknowledgement timeout has passed: move every unanswered ladder one step."""
    if state.closed:
        return []
    orders: list[PageOrder] = []
    newly: list[str] = []
    for track in state.tracks:
        if not track.waiting:
            continue
        orders += _advance(track, max_rounds, "alert", [])
        if track.exhausted and track.escalates:
            newly.append(track.agency_name)
    state.unanswered += [a for a in newly if a not in state.unanswered]
    cc = state.command_centre
    if cc is None or cc.acked_by is not None:
        return orders
    if cc.rounds == 0:
        if newly:
            orders += _start_command_centre(state, "escalation")
        return orders
    if cc.waiting:
        if newly:
            orders += [
                PageOrder(p, "escalation", cc.rounds, tuple(state.unanswered)) for p in cc.paged
            ]
        orders += _advance(cc, max_rounds, "escalation", list(state.unanswered))
    return orders


def escalate_now(state: EscalationState) -> list[PageOrder]:
    """The core (an operator) escalated: page the command centre at once."""
    if state.closed:
        return []
    return _start_command_centre(state, "escalation")


def acknowledge(state: EscalationState, person_id: str) -> Ladder | None:
    """Mark the ladder `person_id` was paged on as answered; the command centre answering
    takes over the whole incident. Returns that ladder (None if the person was not paged)."""
    for ladder in state.ladders():
        if person_id in ladder.paged:
            if ladder.acked_by is None:
                ladder.acked_by = person_id
            if ladder is state.command_centre:
                state.closed = True
            return ladder
    cc = state.command_centre
    if cc is not None and person_id in state.feeds:  # the command centre's own system
        cc.acked_by = cc.acked_by or person_id
        state.closed = True
        return cc
    return None


def everyone(state: EscalationState, kind: MessageKind) -> list[PageOrder]:
    """An update (confirmed, cancelled, closed) for everyone told so far."""
    return [PageOrder(p, kind, 0) for p in state.paged_people()]
