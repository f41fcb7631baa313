"""Lapor tamu 24 jam (as Kendal's PosPin does): a household reports overnight guests to its
Ketua RT. Not an incident: it never pages anyone; the Ketua RT or an operator reads the list
in the console. Same protections as the incident form: CSRF, honeypot, per-browser limit."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from kentongan_cloud.api.deps import RuntimeDep
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.web.anonymous import browser_of, form_csrf, keep_browser, refusal
from kentongan_cloud.web.console_auth import LangDep, Operator
from kentongan_cloud.web.i18n import Lang, lang_of, translator
from kentongan_cloud.web.render import page
from kentongan_cloud.web.report_form import HONEYPOT, PHONE_PATTERN

router = APIRouter(tags=["web"], include_in_schema=False)
_RT = re.compile(r"^[0-9]{1,3}$")
PublicLang = Annotated[Lang, Depends(lang_of)]


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _check(rt: CloudRuntime, f: dict[str, str]) -> dict[str, str]:
    e: dict[str, str] = {}
    if f["kampung"] not in rt.directory.places:
        e["kampung"] = "err_kampung"
    if not _RT.match(f["rt"]):
        e["rt"] = "err_rt"
    if not f["host_name"] or len(f["host_name"]) > 120:
        e["host_name"] = "err_host"
    if f["host_phone"] and not PHONE_PATTERN.match(f["host_phone"]):
        e["host_phone"] = "err_phone"
    if not f["guests"].isdigit() or not 1 <= int(f["guests"]) <= 50:
        e["guests"] = "err_guests"
    if len(f["guest_names"]) > 500:
        e["guest_names"] = "err_guest_names"
    if _date(f["arrival"]) is None:
        e["arrival"] = "err_date"
    if f["departure"] and _date(f["departure"]) is None:
        e["departure"] = "err_date"
    return e


FIELDS = (
    "kampung",
    "rt",
    "host_name",
    "host_phone",
    "guests",
    "guest_names",
    "arrival",
    "departure",
)


def _page(
    rt: CloudRuntime,
    request: Request,
    lang: Lang,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    alert: str | None = None,
    done: bool = False,
) -> Response:
    browser = browser_of(request)
    resp = page(
        "guest.html",
        status_code,
        t=translator(lang),
        lang=lang,
        form=form,
        errors=errors,
        places=sorted(rt.directory.places.values(), key=lambda p: p.kampung_name),
        csrf=form_csrf(rt, browser),
        honeypot=HONEYPOT,
        alert=alert,
        done=done,
    )
    keep_browser(rt, request, resp, browser)
    return resp


@router.get("/lapor/tamu")
async def guest_form(rt: RuntimeDep, request: Request, lang: PublicLang) -> Response:
    empty = dict.fromkeys(FIELDS, "") | {
        "guests": "1",
        "arrival": rt.clock.now().date().isoformat(),
    }
    return _page(rt, request, lang, empty, {}, done=request.query_params.get("terkirim") == "1")


@router.post("/lapor/tamu")
async def guest_submit(rt: RuntimeDep, request: Request, lang: PublicLang) -> Response:
    raw = await request.form(max_files=0, max_fields=20)
    t = translator(lang)
    f = {k: str(raw.get(k) or "").strip() for k in FIELDS}
    refused = await refusal(
        rt, request, csrf=str(raw.get("csrf") or ""), honeypot=str(raw.get(HONEYPOT) or "")
    )
    if refused is not None:
        return _page(rt, request, lang, f, {}, refused.status_code, t(refused.alert))
    errors = _check(rt, f)
    if errors:
        return _page(rt, request, lang, f, errors, 422, t("errors_above"))
    row: dict[str, object] = {
        "tracking_code": secrets.token_urlsafe(16),
        "kampung": f["kampung"],
        "rt": f["rt"].zfill(3),
        "host_name": f["host_name"],
        "host_phone": f["host_phone"] or None,
        "guests": int(f["guests"]),
        "guest_names": f["guest_names"] or None,
        "arrival": f["arrival"],
        "departure": f["departure"] or None,
        "created_at": rt.clock.now(),
    }
    async with rt.db.transaction() as tx:
        await tx.web.add_guest_report(row)
    return RedirectResponse(f"/lapor/tamu?lang={lang}&terkirim=1", status_code=303)


@router.get("/konsol/tamu")
async def guest_list(rt: RuntimeDep, who: Operator, lang: LangDep) -> Response:
    async with rt.db.transaction() as tx:
        rows = await tx.web.guest_reports()
    names = {k: p.kampung_name for k, p in rt.directory.places.items()}
    return page(
        "guest_list.html",
        t=translator(lang),
        lang=lang,
        who=who,
        csrf=who.csrf_token,
        rows=rows,
        names=names,
    )


@router.post("/konsol/tamu/{code}/dilihat")
async def guest_seen(rt: RuntimeDep, who: Operator, lang: LangDep, code: str) -> Response:
    if who.role == "viewer":
        raise HTTPException(403, "role viewer may not change guest reports")
    async with rt.db.transaction() as tx:
        await tx.web.guest_report_seen(code, who.actor)
    return RedirectResponse(f"/konsol/tamu?lang={lang}", status_code=303)
