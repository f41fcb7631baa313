"""The guard's phone: enrolment by an operator's QR code, a device token kept by the phone,
a PIN that unlocks it (wrong PINs counted and locked in the database), the panic page.

The panic itself goes to the JSON API's phone intake (/api/v1/intake/phone) with the guard's
session; a position that arrives after the panic moves the incident there (audited)."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from kentongan_protocol.payloads import Position

from kentongan_cloud.api.auth import COOKIE, hash_password, new_token, token_hash, verify_password
from kentongan_cloud.api.deps import Guard, RuntimeDep
from kentongan_cloud.api.models import Body
from kentongan_cloud.errors import ConflictError
from kentongan_cloud.records import UserRecord
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.store.guards import GuardDevice
from kentongan_cloud.web.anonymous import browser_of, form_csrf, form_csrf_ok, keep_browser
from kentongan_cloud.web.console_auth import Operator, may_act
from kentongan_cloud.web.i18n import Lang, lang_of, translator
from kentongan_cloud.web.render import page

router = APIRouter(tags=["web"], include_in_schema=False)
DEVICE_COOKIE = "kentongan_device"
PIN_TRIES = 5
ENROL_VALID = timedelta(minutes=15)
_PIN = re.compile(r"^[0-9]{4,8}$")
LangDep = Annotated[Lang, Depends(lang_of)]


# --- the operator's side ---------------------------------------------------------------------


@router.get("/konsol/penjaga")
async def guards_page(rt: RuntimeDep, who: Operator, lang: LangDep) -> Response:
    async with rt.db.transaction() as tx:
        devices = await tx.guards.devices()
    sites = sorted(rt.directory.sites.values(), key=lambda s: s.post_name)
    return page(
        "guards.html",
        t=translator(lang),
        lang=lang,
        who=who,
        csrf=who.csrf_token,
        devices=devices,
        sites=sites,
        qr=None,
        link=None,
    )


@router.post("/konsol/penjaga/daftar")
async def make_enrolment(
    rt: RuntimeDep, who: Operator, lang: LangDep, request: Request
) -> Response:
    """A one-time code for one post, shown as a QR code for the guard's phone to scan."""
    if not may_act(who):
        raise HTTPException(403, f"role {who.role} may not enrol guards")
    form = await request.form()
    gateway_id = str(form.get("gateway_id") or "")
    name = str(form.get("guard_name") or "").strip()[:80]
    if gateway_id not in rt.directory.sites:
        raise HTTPException(422, f"unknown post {gateway_id!r}")
    code = secrets.token_urlsafe(16)
    now = rt.clock.now()
    async with rt.db.transaction() as tx:
        await tx.guards.add_enrolment(
            token_hash(code), gateway_id, name or "-", who.actor, now, now + ENROL_VALID
        )
        devices = await tx.guards.devices()
    link = str(request.base_url).rstrip("/") + f"/jaga/daftar/{code}"
    qr = segno.make(link, error="m").svg_inline(scale=5, title="QR")
    return page(
        "guards.html",
        t=translator(lang),
        lang=lang,
        who=who,
        csrf=who.csrf_token,
        devices=devices,
        sites=sorted(rt.directory.sites.values(), key=lambda s: s.post_name),
        qr=qr,
        link=link,
    )


@router.post("/konsol/penjaga/{device_id}/cabut")
async def revoke(rt: RuntimeDep, who: Operator, lang: LangDep, device_id: str) -> Response:
    """Revoke a phone: its account is deactivated, so its sessions end at once."""
    if not may_act(who):
        raise HTTPException(403, f"role {who.role} may not revoke guards")
    async with rt.db.transaction() as tx:
        username = await tx.guards.revoke(device_id)
        user = None if username is None else await tx.users.get(username)
        if user is not None:
            off = UserRecord(user.username, user.password_hash, user.role, user.gateway_id, False)
            await tx.users.upsert(off, rt.clock.now())
    return RedirectResponse(f"/konsol/penjaga?lang={lang}", status_code=303)


# --- the phone's side ------------------------------------------------------------------------


def _phone_page(
    rt: CloudRuntime,
    request: Request,
    lang: Lang,
    name: str,
    status_code: int = 200,
    **ctx: object,
) -> Response:
    browser = browser_of(request)
    resp = page(
        name,
        status_code,
        t=translator(lang),
        lang=lang,
        form_csrf=form_csrf(rt, browser),
        **ctx,
    )
    keep_browser(rt, request, resp, browser)
    return resp


@router.get("/jaga/daftar/{code}")
async def enrol_form(rt: RuntimeDep, request: Request, lang: LangDep, code: str) -> Response:
    async with rt.db.transaction() as tx:
        enr = await tx.guards.enrolment(token_hash(code))
    valid = enr is not None and enr.used_at is None and enr.expires_at > rt.clock.now()
    return _phone_page(
        rt,
        request,
        lang,
        "guard_enrol.html",
        200 if valid else 404,
        code=code,
        valid=valid,
        error=None,
    )


@router.post("/jaga/daftar/{code}")
async def enrol(rt: RuntimeDep, request: Request, lang: LangDep, code: str) -> Response:
    form = await request.form()
    t = translator(lang)
    if not form_csrf_ok(rt, request, form.get("csrf")):
        raise HTTPException(403, "missing or wrong CSRF token")
    pin, pin2 = str(form.get("pin") or ""), str(form.get("pin2") or "")
    error = None
    if not _PIN.match(pin):
        error = t("err_pin_format")
    elif pin != pin2:
        error = t("err_pin_repeat")
    if error:
        return _phone_page(
            rt, request, lang, "guard_enrol.html", 422, code=code, valid=True, error=error
        )
    now = rt.clock.now()
    device_token, device_hash = new_token()
    device_id = str(uuid.uuid4())
    async with rt.db.transaction() as tx:
        enr = await tx.guards.enrolment(token_hash(code))
        ok = (
            enr is not None
            and enr.expires_at > now
            and await tx.guards.use_enrolment(token_hash(code), now)
        )
        if ok and enr is not None:
            username = f"hp-{device_id[:12]}"
            # The account has no usable password: only this device and its PIN open it.
            unusable = hash_password(secrets.token_urlsafe(32))
            await tx.users.upsert(
                UserRecord(username, unusable, "guard", enr.gateway_id, True), now
            )
            dev = GuardDevice(
                device_id,
                username,
                enr.gateway_id,
                enr.guard_name,
                hash_password(pin),
                0,
                None,
                False,
                now,
            )
            await tx.guards.add_device(dev, device_hash)
    if not ok:
        return _phone_page(
            rt, request, lang, "guard_enrol.html", 404, code=code, valid=False, error=None
        )
    resp = RedirectResponse(f"/jaga?lang={lang}", status_code=303)
    resp.set_cookie(
        DEVICE_COOKIE,
        device_token,
        max_age=365 * 86400,
        httponly=True,
        samesite="strict",
        secure=rt.settings.cookie_secure,
        path="/",
    )
    return resp


async def _device(rt: CloudRuntime, request: Request) -> GuardDevice | None:
    token = request.cookies.get(DEVICE_COOKIE)
    if not token:
        return None
    async with rt.db.transaction() as tx:
        return await tx.guards.device(token_hash(token))


@router.get("/jaga")
async def guard_home(rt: RuntimeDep, request: Request, lang: LangDep) -> Response:
    dev = await _device(rt, request)
    t = translator(lang)
    if dev is None or dev.revoked or dev.locked_at is not None:
        msg = (
            t("not_enrolled")
            if dev is None
            else (t("device_revoked") if dev.revoked else t("err_pin_locked"))
        )
        return _phone_page(rt, request, lang, "guard_msg.html", 403, message=msg)
    session = request.cookies.get(COOKIE)
    if session:
        async with rt.db.transaction() as tx:
            sess = await tx.users.session(token_hash(session), rt.clock.now())
        if sess is not None and sess.username == dev.username:
            itypes = rt.directory.district.incident_types
            types = [(k, v.label if lang == "id" else v.label_en) for k, v in itypes.items()]
            site = rt.directory.sites.get(dev.gateway_id)
            return _phone_page(
                rt,
                request,
                lang,
                "guard_panic.html",
                csrf=sess.csrf_token,
                types=types,
                post=site.post_name if site else dev.gateway_id,
                guard=dev.guard_name,
            )
    return _phone_page(rt, request, lang, "guard_pin.html", error=None)


@router.post("/jaga/buka")
async def unlock(rt: RuntimeDep, request: Request, lang: LangDep) -> Response:
    form = await request.form()
    t = translator(lang)
    if not form_csrf_ok(rt, request, form.get("csrf")):
        raise HTTPException(403, "missing or wrong CSRF token")
    dev = await _device(rt, request)
    if dev is None or dev.revoked or dev.locked_at is not None:
        return RedirectResponse(f"/jaga?lang={lang}", status_code=303)
    pin = str(form.get("pin") or "")
    now = rt.clock.now()
    if not verify_password(pin[:16], dev.pin_hash):
        async with rt.db.transaction() as tx:
            count = await tx.guards.pin_failed(dev.device_id, PIN_TRIES, now)
        if count >= PIN_TRIES:
            return _phone_page(
                rt, request, lang, "guard_msg.html", 403, message=t("err_pin_locked")
            )
        error = t("err_pin_wrong").format(n=PIN_TRIES - count)
        return _phone_page(rt, request, lang, "guard_pin.html", 401, error=error)
    token, hashed = new_token()
    csrf, _ = new_token()
    expires = now + timedelta(hours=rt.settings.api.session_ttl_h)
    async with rt.db.transaction() as tx:
        await tx.guards.pin_ok(dev.device_id)
        await tx.users.add_session(hashed, dev.username, csrf, now, expires)
    resp = RedirectResponse(f"/jaga?lang={lang}", status_code=303)
    resp.set_cookie(
        COOKIE,
        token,
        max_age=int(rt.settings.api.session_ttl_h * 3600),
        httponly=True,
        samesite="strict",
        secure=rt.settings.cookie_secure,
    )
    return resp


class PositionBody(Body):
    incident_id: str
    position: Position


@router.post("/jaga/posisi", status_code=204)
async def late_position(rt: RuntimeDep, who: Guard, body: PositionBody) -> Response:
    """A position that came after the panic was sent: the incident moves there (while open)."""
    async with rt.db.transaction() as tx:
        inc = await tx.incidents.get(body.incident_id)
    if inc is None or inc.gateway_id != who.gateway_id:
        raise HTTPException(404, "no such incident at this guard's post")
    p = body.position
    acc = f" ±{p.accuracy_m:.0f} m" if p.accuracy_m is not None else ""
    text = f"posisi HP penjaga: {p.lat:.6f}, {p.lon:.6f}{acc}"
    try:
        await rt.operations.locate(body.incident_id, who.actor, p.lat, p.lon, text)
    except ConflictError:
        # Closed meanwhile: the position is still worth keeping on the timeline.
        await rt.operations.note(body.incident_id, who.actor, text)
    return Response(status_code=204)
