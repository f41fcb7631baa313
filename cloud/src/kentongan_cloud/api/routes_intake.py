"""HTTP intake: the guard's phone and the resident form, through the same intake as MQTT."""

from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter, HTTPException, Request, status
from kentongan_protocol.payloads import Event

from kentongan_cloud.api.deps import Guard, RuntimeDep
from kentongan_cloud.api.models import (
    UNPROCESSABLE,
    IntakeReceipt,
    ReportReceipt,
    ReportStatus,
    ResidentReportBody,
)
from kentongan_cloud.errors import NotFoundError
from kentongan_cloud.intake.classify import EventItem, ReportDetails, check_event
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.web.ratelimit import over_limit

router = APIRouter(tags=["intake"])


@router.post("/api/v1/intake/phone", status_code=201, responses=UNPROCESSABLE)
async def phone_event(rt: RuntimeDep, who: Guard, event: Event) -> IntakeReceipt:
    """A guard's phone at their post sends a protocol Event (source `phone`); a resend with
    the same event_id is acknowledged again and changes nothing."""
    bad = check_event(event, rt.directory, sources=frozenset({"phone"}))
    if bad is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, bad.detail)
    site = rt.directory.sites.get(who.gateway_id or "")
    if site is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"post {who.gateway_id!r} of this guard is not active"
        )
    lat, lon = (event.position.lat, event.position.lon) if event.position else (site.lat, site.lon)
    item = EventItem(event, site.gateway_id, site.place, lat, lon, site=site)
    res = await rt.intake.submit(item)
    return IntakeReceipt(
        event_id=str(event.event_id),
        outcome=res.event_outcome or res.outcome,
        incident_id=res.incident_id,
    )


@router.post(
    "/api/v1/reports",
    status_code=201,
    responses={**UNPROCESSABLE, 429: {"description": "Too many reports from this address"}},
)
async def resident_report(
    rt: RuntimeDep, body: ResidentReportBody, request: Request
) -> ReportReceipt:
    """The resident form: returns a tracking code (128 random bits) and a status page."""
    address = request.client.host if request.client else "unknown"
    if await over_limit(rt, None, address):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many reports; try later")
    return await submit_report(rt, body)


async def submit_report(rt: CloudRuntime, body: ResidentReportBody) -> ReportReceipt:
    """A resident's report into the one intake (the JSON API and the web form both call it).
    It stays an unverified web incident: residents' reports never sound sirens by themselves."""
    d = rt.directory
    if d.incident_type(body.incident_type) is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown incident type {body.incident_type!r}; choose one of "
            + ", ".join(sorted(d.district.incident_types)),
        )
    if body.kampung is not None:
        place = d.places.get(body.kampung)
        if place is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown kampung {body.kampung!r}"
            )
    elif body.position is not None:
        place = d.nearest_place(body.position.lat, body.position.lon)
    else:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give the kampung or the position"
        )
    lat, lon = (body.position.lat, body.position.lon) if body.position else (place.lat, place.lon)
    now = rt.clock.now()
    event = Event(
        event_id=body.report_id or uuid.uuid4(),
        session_id=uuid.uuid4().hex,
        boot_id=uuid.uuid4(),
        seq=0,
        monotonic_ms=0,
        occurred_at=now,
        clock_synced=True,
        source="web",
        kind="panic",
        input="web_form",
        incident_type=body.incident_type,
        position=body.position,
        detail=body.description[:200] or None,
    )
    code = secrets.token_urlsafe(16)
    report = ReportDetails(code, body.name, body.phone, body.description or None)
    item = EventItem(event, f"web:{place.kampung}", place, lat, lon, report=report)
    res = await rt.intake.submit(item)
    duplicate = res.outcome == "duplicate"
    if duplicate:
        async with rt.db.transaction() as tx:
            earlier = await tx.incidents.report_for_event(str(event.event_id))
        if earlier is None:
            raise HTTPException(status.HTTP_409_CONFLICT, "this report id is already used")
        code = earlier.tracking_code
    return ReportReceipt(
        tracking_code=code, status_url=f"/api/v1/reports/{code}", duplicate=duplicate
    )


@router.get("/api/v1/reports/{tracking_code}")
async def report_status(rt: RuntimeDep, tracking_code: str) -> ReportStatus:
    """Status of a resident's report, for whoever holds the code; no personal data."""
    return await report_status_of(rt, tracking_code)


async def report_status_of(rt: CloudRuntime, tracking_code: str) -> ReportStatus:
    """The public status of a report; NotFoundError for an unknown code."""
    async with rt.db.transaction() as tx:
        rep = await tx.incidents.report(tracking_code)
        inc = (
            None
            if rep is None or rep.incident_id is None
            else await tx.incidents.get(rep.incident_id)
        )
    if rep is None or inc is None:
        msg = "no report with this tracking code"
        raise NotFoundError(msg)
    itype = rt.directory.incident_type(inc.incident_type)
    updated = inc.closed_at or inc.dispatched_at or inc.acknowledged_at or inc.opened_at
    return ReportStatus(
        tracking_code=tracking_code,
        incident_type=inc.incident_type,
        type_label=itype.label if itype else inc.incident_type,
        state=inc.state,
        received_at=rep.created_at,
        updated_at=updated,
    )
