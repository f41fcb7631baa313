"""Lapor: the resident form and the status page. Works without JavaScript: a plain POST of
the form, errors shown next to their fields, then a redirect to the status page."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from kentongan_cloud.api.deps import RuntimeDep
from kentongan_cloud.api.models import ResidentReportBody
from kentongan_cloud.api.routes_intake import report_status_of, submit_report
from kentongan_cloud.errors import NotFoundError
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.web.anonymous import browser_of, form_csrf, keep_browser, refusal
from kentongan_cloud.web.i18n import Lang, lang_of, remember, translator
from kentongan_cloud.web.photo import MAX_PHOTO_BYTES, PhotoRejectedError, reencode
from kentongan_cloud.web.render import page
from kentongan_cloud.web.report_form import HONEYPOT, ReportForm

router = APIRouter(tags=["web"], include_in_schema=False)

STEPS = ("new", "acknowledged", "dispatched", "resolved")

LangDep = Annotated[Lang, Depends(lang_of)]


def _form_page(
    rt: CloudRuntime,
    request: Request,
    lang: Lang,
    browser: str,
    form: ReportForm,
    *,
    status_code: int = 200,
    alert: str | None = None,
) -> Response:
    d = rt.directory
    types = [
        (tid, it.label if lang == "id" else it.label_en)
        for tid, it in d.district.incident_types.items()
    ]
    places = sorted(d.places.values(), key=lambda p: (p.kecamatan_name, p.kampung_name))
    resp = page(
        "lapor.html",
        status_code,
        t=translator(lang),
        lang=lang,
        types=types,
        places=places,
        form=form,
        csrf=form_csrf(rt, browser),
        alert=alert,
        honeypot=HONEYPOT,
        report_id=uuid.uuid4(),
        max_photo=MAX_PHOTO_BYTES,
    )
    keep_browser(rt, request, resp, browser)
    remember(request, resp, lang, secure=rt.settings.cookie_secure)
    return resp


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/lapor", status_code=303)


@router.get("/lapor")
async def report_form(rt: RuntimeDep, request: Request, lang: LangDep) -> Response:
    return _form_page(rt, request, lang, browser_of(request), ReportForm())


@router.post("/lapor")
async def report_submit(rt: RuntimeDep, request: Request, lang: LangDep) -> Response:
    raw = await request.form(max_files=1, max_fields=20)
    t = translator(lang)

    def text(name: str) -> str:
        v = raw.get(name)
        return v.strip() if isinstance(v, str) else ""

    form = ReportForm(
        incident_type=text("incident_type"),
        description=text("description"),
        kampung=text("kampung"),
        lat=text("lat"),
        lon=text("lon"),
        accuracy=text("accuracy"),
        name=text("name"),
        phone=text("phone"),
    )
    refused = await refusal(rt, request, csrf=text("csrf"), honeypot=text(HONEYPOT))
    if refused is not None:
        # A bot's filled-in form is not shown back to it.
        shown = ReportForm() if refused.alert == "err_bot" else form
        return _form_page(
            rt,
            request,
            lang,
            browser_of(request),
            shown,
            status_code=refused.status_code,
            alert=t(refused.alert),
        )
    browser = browser_of(request)
    form.validate(rt.directory)
    photo: bytes | None = None
    upload = raw.get("photo")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_PHOTO_BYTES + 1)
        try:
            photo = await asyncio.to_thread(reencode, data)
        except PhotoRejectedError as exc:
            form.errors["photo"] = f"err_photo_{exc.reason}"
    if form.errors:
        return _form_page(
            rt, request, lang, browser, form, status_code=422, alert=t("errors_above")
        )
    body = ResidentReportBody(
        incident_type=form.incident_type,
        kampung=form.kampung or None,
        position=form.position(),
        description=form.description,
        name=form.name or None,
        phone=form.clean_phone(),
        report_id=_report_id(text("report_id")),
    )
    receipt = await submit_report(rt, body)
    if photo is not None and not receipt.duplicate:
        async with rt.db.transaction() as tx:
            await tx.web.add_photo(receipt.tracking_code, "image/jpeg", photo, rt.clock.now())
    return RedirectResponse(f"/lapor/{receipt.tracking_code}?lang={lang}", status_code=303)


def _report_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


async def _linked_state(rt: CloudRuntime, tracking_code: str) -> str | None:
    """The state of the incident an operator joined this report to, if any."""
    async with rt.db.transaction() as tx:
        rep = await tx.incidents.report(tracking_code)
        to = (
            None
            if rep is None or rep.incident_id is None
            else await tx.web.linked_to(rep.incident_id)
        )
        target = None if to is None else await tx.incidents.get(to)
    return None if target is None else target.state


@router.get("/lapor/{tracking_code}")
async def report_status(
    rt: RuntimeDep, request: Request, lang: LangDep, tracking_code: str
) -> Response:
    t = translator(lang)
    try:
        st = await report_status_of(rt, tracking_code)
    except NotFoundError:
        return page("status.html", 404, t=t, lang=lang, st=None, steps=[], code=tracking_code)
    state = st.state
    linked = await _linked_state(rt, tracking_code)
    if linked is not None:
        state = linked
    if state in STEPS:
        reached = STEPS.index(state)
        steps = [(t(f"step_{s}"), i <= reached, i == reached) for i, s in enumerate(STEPS)]
        if linked is not None:
            steps.insert(1, (t("step_linked"), True, False))
    else:
        steps = [(t("step_new"), True, False), (t(f"step_{state}"), True, True)]
    resp = page("status.html", t=t, lang=lang, st=st, steps=steps, code=tracking_code)
    remember(request, resp, lang, secure=rt.settings.cookie_secure)
    return resp
