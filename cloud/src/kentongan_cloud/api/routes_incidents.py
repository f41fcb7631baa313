"""Incidents: the board, one incident with its history, operators' steps, CAP export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Response

from kentongan_cloud.api.accounts import reach
from kentongan_cloud.api.auth import Principal
from kentongan_cloud.api.deps import (
    BoardReader,
    IncidentAcknowledger,
    IncidentActor,
    IncidentReader,
    RuntimeDep,
)
from kentongan_cloud.api.models import (
    ActionBody,
    AuditPublic,
    CommandPublic,
    EventPublic,
    IncidentDetail,
    IncidentPublic,
    NoteBody,
    SirenBody,
)
from kentongan_cloud.domain.cap import cap_fields, cap_xml
from kentongan_cloud.domain.incident import Action, Incident
from kentongan_cloud.errors import NotFoundError
from kentongan_cloud.runtime import CloudRuntime

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
NO_NOTE = ActionBody()


def public(rt: CloudRuntime, inc: Incident) -> IncidentPublic:
    itype = rt.directory.incident_type(inc.incident_type)
    if itype is None:  # a type removed from the district file since
        msg = f"incident type {inc.incident_type} is no longer configured"
        raise NotFoundError(msg)
    return IncidentPublic.of(inc, itype.label, cap_fields(inc, itype))


@router.get("")
async def list_incidents(
    rt: RuntimeDep,
    who: BoardReader,
    state: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI reads the default
    incident_type: Annotated[list[str], Query()] = [],  # noqa: B006
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    kampung: str | None = None,
    kecamatan: str | None = None,
    gateway_id: str | None = None,
    open_only: bool = False,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[IncidentPublic]:
    """Newest first; filter by state, type, status (actual/exercise/test) and place."""
    async with rt.db.transaction() as tx:
        found = await tx.incidents.search(
            states=state,
            types=incident_type,
            statuses=status,
            kampung=kampung,
            kecamatan=kecamatan,
            gateway_id=gateway_id,
            open_only=open_only,
            since=since,
            limit=limit,
            offset=offset,
            reach=reach(rt.provisioning, who),
        )
    return [public(rt, i) for i in found]


async def _detail(rt: CloudRuntime, incident_id: str) -> IncidentDetail:
    async with rt.db.transaction() as tx:
        inc = await tx.incidents.get(incident_id)
        if inc is None:
            msg = f"incident {incident_id} not found"
            raise NotFoundError(msg)
        events = await tx.intake.events_of(incident_id)
        audit = await tx.incidents.audit_of(incident_id)
        cmds = await tx.commands.for_incident(incident_id)
        acks = await tx.commands.acks_for([c.command_id for c in cmds])
    return IncidentDetail(
        incident=public(rt, inc),
        events=[EventPublic.of(e) for e in events],
        audit=[AuditPublic.of(a) for a in audit],
        commands=[CommandPublic.of(c, acks) for c in cmds],
    )


@router.get("/{incident_id}")
async def get_incident(rt: RuntimeDep, _who: IncidentReader, incident_id: str) -> IncidentDetail:
    """One incident with its events, audit log, siren commands and their acks."""
    return await _detail(rt, incident_id)


def _action_route(path: str, action: Action, allowed: Any) -> None:
    """POST /{incident_id}/<path>: an operator's step on the incident, with an optional note;
    `allowed` is the role check (an `Annotated[Principal, Depends(...)]` alias from deps)."""
    # A default, not Annotated: the annotations are strings and the check is not a global.
    check = get_args(allowed)[1]

    async def act(
        rt: RuntimeDep, *, who: Principal = check, incident_id: str, body: ActionBody = NO_NOTE
    ) -> IncidentPublic:
        inc = await rt.operations.act(incident_id, action, who.actor, body.note)
        return public(rt, inc)

    # Named for the action, so the OpenAPI operation ids and summaries stay as they were.
    router.post(f"/{{incident_id}}/{path}", name=action)(act)


_action_route("acknowledge", "acknowledge", IncidentAcknowledger)
_action_route("dispatch", "dispatch", IncidentActor)
_action_route("resolve", "resolve", IncidentActor)
_action_route("false-alarm", "false_alarm", IncidentActor)
_action_route("cancel", "cancel", IncidentActor)


@router.post("/{incident_id}/notes")
async def add_note(
    rt: RuntimeDep, who: IncidentAcknowledger, incident_id: str, body: NoteBody
) -> IncidentDetail:
    await rt.operations.note(incident_id, who.actor, body.text)
    return await _detail(rt, incident_id)


@router.post("/{incident_id}/sirens")
async def sirens(
    rt: RuntimeDep, who: IncidentActor, incident_id: str, body: SirenBody
) -> IncidentDetail:
    """Start or stop the sirens around an incident (the only way for residents' reports)."""
    await rt.operations.sirens(incident_id, body.action, who.actor)
    return await _detail(rt, incident_id)


@router.get("/{incident_id}/cap", response_class=Response)
async def cap_export(rt: RuntimeDep, _who: IncidentReader, incident_id: str) -> Response:
    """The incident as a CAP 1.2 alert (XML)."""
    async with rt.db.transaction() as tx:
        inc = await tx.incidents.get(incident_id)
    if inc is None:
        msg = f"incident {incident_id} not found"
        raise NotFoundError(msg)
    d = rt.directory
    itype = d.incident_type(inc.incident_type)
    place = d.places.get(inc.kampung)
    if itype is None or place is None:
        msg = f"incident {incident_id} refers to a type or kampung no longer configured"
        raise NotFoundError(msg)
    body = cap_xml(
        inc,
        itype,
        place,
        sender=rt.settings.api.cap_sender,
        district_name=d.district.district.name,
        timezone_name=d.district.district.timezone,
        sent=rt.clock.now(),
    )
    return Response(body, media_type="application/cap+xml")
