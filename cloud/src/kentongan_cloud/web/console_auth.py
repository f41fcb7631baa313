"""The console's login: the API's session cookie, with the session's CSRF token in forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from kentongan_cloud.api.auth import COOKIE, Principal, token_hash
from kentongan_cloud.api.deps import ACTORS, READERS, RuntimeDep
from kentongan_cloud.api.models import LoginBody
from kentongan_cloud.api.routes_auth import login as api_login
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.web import security
from kentongan_cloud.web.i18n import Lang, lang_of, remember, translator
from kentongan_cloud.web.render import page

router = APIRouter(tags=["web"], include_in_schema=False)
LOGIN = "/konsol/masuk"


class LoginNeededError(Exception):
    """The page needs a console session; the app answers with a redirect to the login."""


async def session_of(rt: CloudRuntime, request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    async with rt.db.transaction() as tx:
        sess = await tx.users.session(token_hash(token), rt.clock.now())
    if sess is None or sess.role not in READERS:
        return None
    return Principal(sess.username, sess.role, sess.gateway_id, "cookie", sess.csrf_token)


async def operator(request: Request, rt: RuntimeDep) -> Principal:
    """A console user (viewer and up); POSTs also need the session's CSRF token."""
    who = await session_of(rt, request)
    if who is None:
        raise LoginNeededError
    if request.method == "POST":
        form = await request.form()
        sent = form.get("csrf")
        if not isinstance(sent, str) or sent != who.csrf_token:
            raise HTTPException(403, "missing or wrong CSRF token")
    return who


Operator = Annotated[Principal, Depends(operator)]
LangDep = Annotated[Lang, Depends(lang_of)]


def may_act(who: Principal) -> bool:
    return who.role in ACTORS


def _login_page(
    rt: CloudRuntime, request: Request, lang: Lang, *, error: str | None, status_code: int = 200
) -> Response:
    browser = request.cookies.get(security.BROWSER_COOKIE) or security.new_browser_id()
    csrf = security.csrf_for(rt.settings.secret_key.get_secret_value(), browser)
    resp = page("login.html", status_code, t=translator(lang), lang=lang, csrf=csrf, error=error)
    resp.set_cookie(
        security.BROWSER_COOKIE,
        browser,
        httponly=True,
        samesite="lax",
        secure=rt.settings.cookie_secure,
        max_age=365 * 86400,
    )
    remember(request, resp, lang, secure=rt.settings.cookie_secure)
    return resp


@router.get(LOGIN)
async def login_form(rt: RuntimeDep, request: Request, lang: LangDep) -> Response:
    return _login_page(rt, request, lang, error=None)


@router.post(LOGIN)
async def login_submit(rt: RuntimeDep, request: Request, lang: LangDep) -> Response:
    form = await request.form()
    t = translator(lang)
    username, password, csrf = (str(form.get(k) or "") for k in ("username", "password", "csrf"))
    secret = rt.settings.secret_key.get_secret_value()
    if not security.csrf_ok(secret, request.cookies.get(security.BROWSER_COOKIE), csrf):
        return _login_page(rt, request, lang, error=t("err_csrf_console"), status_code=403)
    if not username or not password or len(username) > 64 or len(password) > 200:
        return _login_page(rt, request, lang, error=t("err_login"), status_code=401)
    async with rt.db.transaction() as tx:
        user = await tx.users.get(username)
    if user is not None and user.role not in READERS:
        return _login_page(rt, request, lang, error=t("err_role"), status_code=403)
    resp = RedirectResponse("/konsol", status_code=303)
    try:
        await api_login(rt, LoginBody(username=username, password=password), resp)
    except HTTPException:
        return _login_page(rt, request, lang, error=t("err_login"), status_code=401)
    return resp


@router.post("/konsol/keluar")
async def logout(rt: RuntimeDep, request: Request, _who: Operator) -> Response:
    token = request.cookies.get(COOKIE, "")
    async with rt.db.transaction() as tx:
        await tx.users.end_session(token_hash(token))
    resp = RedirectResponse(LOGIN, status_code=303)
    resp.delete_cookie(COOKIE)
    return resp
