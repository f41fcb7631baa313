"""Console pages beyond the board: fleet, map, area alarms (with a confirmation step), the
shift handover log and the daily recap."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from kentongan_protocol.payloads import AreaFilter

from kentongan_cloud.api.deps import RuntimeDep
from kentongan_cloud.api.models import GatewayPublic
from kentongan_cloud.errors import ConflictError
from kentongan_cloud.web.console_auth import LangDep, Operator, may_act
from kentongan_cloud.web.i18n import translator
from kentongan_cloud.web.render import WIB, page

router = APIRouter(tags=["web"], include_in_schema=False)
ALARM_DURATION_S = 180


def _ctx(who: Operator, lang: str) -> dict[str, object]:
    return {"t": translator(lang), "lang": lang, "who": who, "csrf": who.csrf_token}  # type: ignore[arg-type]


def _need_actor(who: Operator) -> None:
    if not may_act(who):
        raise HTTPException(403, f"role {who.role} may not do this")


@router.post("/konsol/shift/mulai")
async def start_shift(rt: RuntimeDep, who: Operator, lang: LangDep) -> Response:
    """Start the shift (logged); the board then sounds an alert for each new incident."""
    async with rt.db.transaction() as tx:
        await tx.web.add_handover(rt.clock.now(), who.actor, "mulai", "")
    return RedirectResponse(f"/konsol?lang={lang}", status_code=303)


@router.get("/konsol/shift")
async def shift_log(rt: RuntimeDep, who: Operator, lang: LangDep) -> Response:
    async with rt.db.transaction() as tx:
        log = await tx.web.handovers(limit=100)
    return page("shift.html", log=log, **_ctx(who, lang))


@router.post("/konsol/shift")
async def handover(rt: RuntimeDep, who: Operator, lang: LangDep, request: Request) -> Response:
    """A handover note: what the next shift must know (open matters, equipment, visitors)."""
    form = await request.form()
    text = str(form.get("text") or "").strip()[:4000]
    if text:
        async with rt.db.transaction() as tx:
            await tx.web.add_handover(rt.clock.now(), who.actor, "serah", text)
    return RedirectResponse(f"/konsol/shift?lang={lang}", status_code=303)


@router.get("/konsol/armada")
async def fleet(rt: RuntimeDep, who: Operator, lang: LangDep) -> Response:
    async with rt.db.transaction() as tx:
        rows = await tx.fleet.rows()
    gws = [GatewayPublic.of(r, []) for r in rows]
    return page("fleet.html", gws=gws, **_ctx(who, lang))


@router.get("/konsol/peta")
async def map_page(who: Operator, lang: LangDep) -> Response:
    return page("map.html", **_ctx(who, lang))


def _area_of(rt: RuntimeDep, choice: str) -> tuple[AreaFilter, str]:
    """`""` the whole district, `kc:<id>` a kecamatan, `kp:<id>` a kampung."""
    d = rt.directory
    if choice.startswith("kc:") and any(k.id == choice[3:] for k in d.district.kecamatan):
        name = next(k.name for k in d.district.kecamatan if k.id == choice[3:])
        return AreaFilter(kecamatan=[choice[3:]]), name
    if choice.startswith("kp:") and choice[3:] in d.places:
        return AreaFilter(kampung=[choice[3:]]), d.places[choice[3:]].kampung_name
    if choice == "":
        return AreaFilter(), d.district.district.name
    raise HTTPException(422, f"unknown area {choice!r}")


@router.get("/konsol/alarm-area")
async def area_page(rt: RuntimeDep, who: Operator, lang: LangDep) -> Response:
    acks: dict[str, list[str]] = {}
    async with rt.db.transaction() as tx:
        alarms = (await tx.commands.area_alarms())[:20]
        for a in alarms[:5]:
            cmds = await tx.commands.for_alarm(a.alarm_id)
            got = await tx.commands.acks_for([c.command_id for c in cmds])
            acks[a.alarm_id] = sorted({f"{k.gateway_id}: {k.result}" for k in got})
    d = rt.directory
    return page(
        "area.html",
        alarms=alarms,
        acks=acks,
        kecamatan=d.district.kecamatan,
        places=sorted(d.places.values(), key=lambda p: p.kampung_name),
        patterns=sorted(d.district.siren_patterns),
        **_ctx(who, lang),
    )


@router.post("/konsol/alarm-area/konfirmasi")
async def area_confirm(rt: RuntimeDep, who: Operator, lang: LangDep, request: Request) -> Response:
    """The confirmation step: what will sound, and where, before anything is sent."""
    _need_actor(who)
    form = await request.form()
    choice, pattern = str(form.get("area") or ""), str(form.get("pattern") or "titir")
    area, name = _area_of(rt, choice)
    if pattern not in rt.directory.district.siren_patterns:
        raise HTTPException(422, f"unknown siren pattern {pattern!r}")
    posts = rt.directory.sites_in_area(area)
    return page(
        "area_confirm.html",
        choice=choice,
        pattern=pattern,
        area_name=name,
        posts=posts,
        **_ctx(who, lang),
    )


@router.post("/konsol/alarm-area/mulai")
async def area_start(rt: RuntimeDep, who: Operator, lang: LangDep, request: Request) -> Response:
    _need_actor(who)
    form = await request.form()
    area, _ = _area_of(rt, str(form.get("area") or ""))
    try:
        await rt.operations.area_alarm(
            area, str(form.get("pattern") or "titir"), ALARM_DURATION_S, who.actor
        )
    except ConflictError as exc:
        raise HTTPException(409, str(exc)) from exc
    return RedirectResponse(f"/konsol/alarm-area?lang={lang}", status_code=303)


@router.post("/konsol/alarm-area/{alarm_id}/{how}")
async def area_end(
    rt: RuntimeDep,
    who: Operator,
    lang: LangDep,
    alarm_id: str,
    how: Literal["stop", "all_clear"],
    request: Request,
) -> Response:
    """Stop or all-clear; the page's button first asks (a second form with `confirmed`)."""
    _need_actor(who)
    form = await request.form()
    if form.get("confirmed") != "yes":
        return page("area_end_confirm.html", alarm_id=alarm_id, how=how, **_ctx(who, lang))
    await rt.operations.area_end(alarm_id, how, who.actor)
    return RedirectResponse(f"/konsol/alarm-area?lang={lang}", status_code=303)


def _day(raw: str | None, now: datetime) -> date:
    try:
        return date.fromisoformat(raw) if raw else now.astimezone(WIB).date()
    except ValueError:
        return now.astimezone(WIB).date()


@router.get("/konsol/rekap")
async def recap(rt: RuntimeDep, who: Operator, lang: LangDep, request: Request) -> Response:
    """One WIB day: incidents by type and outcome, and how fast they were acknowledged."""
    day = _day(request.query_params.get("tanggal"), rt.clock.now())
    start = datetime.combine(day, time(0), WIB)
    end = start + timedelta(days=1)
    async with rt.db.transaction() as tx:
        found = await tx.incidents.search(since=start, limit=500)
    todays = [i for i in found if i.opened_at < end]
    by_type = Counter(i.incident_type for i in todays)
    by_state = Counter(i.state for i in todays)
    acks = sorted(
        (i.acknowledged_at - i.opened_at).total_seconds()
        for i in todays
        if i.acknowledged_at is not None
    )
    labels = {
        k: (v.label if lang == "id" else v.label_en)
        for k, v in rt.directory.district.incident_types.items()
    }
    return page(
        "recap.html",
        day=day,
        total=len(todays),
        by_type=[(labels.get(k, k), n) for k, n in by_type.most_common()],
        by_state=sorted(by_state.items()),
        median_ack_s=acks[len(acks) // 2] if acks else None,
        residents=sum(1 for i in todays if i.source == "web"),
        truncated=len(found) >= 500,
        prev=(day - timedelta(days=1)).isoformat(),
        next=(day + timedelta(days=1)).isoformat(),
        **_ctx(who, lang),
    )
