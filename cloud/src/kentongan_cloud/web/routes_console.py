"""The operator console: the live board (server-sent events), incident steps and notes.

The board is rendered by the server (usable without JavaScript); the script keeps it live
from /konsol/stream, which reads the database, so any worker can serve any operator. The map
reads the same stream (`?peta=1` adds the posts).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from kentongan_cloud.api.deps import RuntimeDep
from kentongan_cloud.api.routes_incidents import get_incident
from kentongan_cloud.domain.incident import Action
from kentongan_cloud.errors import ConflictError
from kentongan_cloud.web.board import open_rows
from kentongan_cloud.web.console_auth import LangDep, Operator, may_act
from kentongan_cloud.web.i18n import Lang, translator
from kentongan_cloud.web.map_data import map_snapshot
from kentongan_cloud.web.render import page

router = APIRouter(tags=["web"], include_in_schema=False)
STREAM_POLL_S = 1.0
KEEPALIVE_S = 15.0
WebAction = Literal["acknowledge", "dispatch", "resolve", "false_alarm", "verify", "reject"]
_ACTIONS: dict[str, tuple[Action, str]] = {
    "acknowledge": ("acknowledge", ""),
    "dispatch": ("dispatch", ""),
    "resolve": ("resolve", ""),
    "false_alarm": ("false_alarm", ""),
    # A resident's report: verifying is acknowledging it as real; rejecting closes it.
    "verify": ("acknowledge", "laporan warga diverifikasi"),
    "reject": ("false_alarm", "laporan warga ditolak"),
}


@router.get("/konsol")
async def board(rt: RuntimeDep, who: Operator, lang: LangDep, request: Request) -> Response:
    rows = await open_rows(rt, lang)
    async with rt.db.transaction() as tx:
        # The shift is whoever started one last: handover notes written during it (or by
        # another operator) do not end it.
        on_shift = await tx.web.last_shift_starter() == who.actor
    return page(
        "board.html",
        t=translator(lang),
        lang=lang,
        who=who,
        rows=rows,
        csrf=who.csrf_token,
        can_act=may_act(who),
        on_shift=on_shift,
        alert=request.query_params.get("galat") == "konflik",
    )


async def _snapshot(rt: RuntimeDep, lang: Lang, with_map: bool) -> tuple[str, object]:
    rows = await open_rows(rt, lang)
    if with_map:
        return "map", await map_snapshot(rt, rows)
    return "board", [r.model_dump() for r in rows]


async def _events(
    rt: RuntimeDep, request: Request, lang: Lang, with_map: bool
) -> AsyncIterator[str]:
    last = ""
    quiet = 0.0
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        event, payload = await _snapshot(rt, lang, with_map)
        data = json.dumps(payload, separators=(",", ":"))
        if data != last:
            last, quiet = data, 0.0
            yield f"event: {event}\ndata: {data}\n\n"
        elif quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keepalive\n\n"
        await asyncio.sleep(STREAM_POLL_S)
        quiet += STREAM_POLL_S


@router.get("/konsol/stream")
async def stream(rt: RuntimeDep, _who: Operator, lang: LangDep, request: Request) -> Response:
    """`board` events (the open incidents), or with `?peta=1` `map` events (posts too)."""
    with_map = request.query_params.get("peta") == "1"
    return StreamingResponse(
        _events(rt, request, lang, with_map),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/konsol/insiden/{incident_id}/catatan")
async def note(
    rt: RuntimeDep, who: Operator, lang: LangDep, incident_id: str, request: Request
) -> Response:
    if not may_act(who):
        raise HTTPException(403, f"role {who.role} may not change incidents")
    form = await request.form()
    text = str(form.get("text") or "").strip()[:2000]
    if text:
        await rt.operations.note(incident_id, who.actor, text)
    return RedirectResponse(f"/konsol/insiden/{incident_id}?lang={lang}", status_code=303)


@router.post("/konsol/insiden/{incident_id}/tautkan")
async def link(
    rt: RuntimeDep, who: Operator, lang: LangDep, incident_id: str, request: Request
) -> Response:
    """Join a resident's report to the incident it describes: the report closes (cancelled,
    with the reason), the incident gets a note, and the resident's status page follows the
    incident from then on."""
    if not may_act(who):
        raise HTTPException(403, f"role {who.role} may not change incidents")
    form = await request.form()
    target = str(form.get("target") or "")
    async with rt.db.transaction() as tx:
        inc = await tx.incidents.get(incident_id)
        other = await tx.incidents.get(target)
    if inc is None or other is None or inc.source != "web" or target == incident_id:
        raise HTTPException(422, "link a resident's report to another incident")
    try:
        await rt.operations.act(incident_id, "cancel", who.actor, f"ditautkan ke {target}")
    except ConflictError:
        return RedirectResponse(f"/konsol?lang={lang}&galat=konflik", status_code=303)
    await rt.operations.note(target, who.actor, f"laporan warga {incident_id} ditautkan")
    async with rt.db.transaction() as tx:
        await tx.web.link(incident_id, target, who.actor, rt.clock.now())
    return RedirectResponse(f"/konsol/insiden/{target}?lang={lang}", status_code=303)


@router.post("/konsol/insiden/{incident_id}/{action}")
async def act(
    rt: RuntimeDep,
    who: Operator,
    lang: LangDep,
    incident_id: str,
    action: WebAction,
    request: Request,
) -> Response:
    if not may_act(who):
        raise HTTPException(403, f"role {who.role} may not change incidents")
    form = await request.form()
    typed = str(form.get("note") or "")[:1000]
    step, default_note = _ACTIONS[action]
    try:
        await rt.operations.act(incident_id, step, who.actor, typed or default_note)
    except ConflictError:
        return RedirectResponse(f"/konsol?lang={lang}&galat=konflik", status_code=303)
    back = str(form.get("back") or "")
    target = f"/konsol/insiden/{incident_id}" if back == "detail" else "/konsol"
    return RedirectResponse(f"{target}?lang={lang}", status_code=303)


@router.get("/konsol/insiden/{incident_id}")
async def detail(rt: RuntimeDep, who: Operator, lang: LangDep, incident_id: str) -> Response:
    d = await get_incident(rt, who, incident_id)
    others = [r for r in await open_rows(rt, lang) if r.id != incident_id]
    async with rt.db.transaction() as tx:
        notices = await tx.web.notices_of(incident_id)
    return page(
        "incident.html",
        others=others,
        notices=notices,
        t=translator(lang),
        lang=lang,
        who=who,
        d=d,
        csrf=who.csrf_token,
        can_act=may_act(who),
    )
