"""Forms for people without an account (residents, households, guards' phones before the PIN):
the browser cookie they are known by, its form CSRF token, and the checks a post must pass."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.web import security
from kentongan_cloud.web.ratelimit import over_limit


def browser_of(request: Request) -> str:
    """The browser's id from its cookie, or a new one for a first visit."""
    return request.cookies.get(security.BROWSER_COOKIE) or security.new_browser_id()


def form_csrf(rt: CloudRuntime, browser: str) -> str:
    return security.csrf_for(rt.settings.secret_key.get_secret_value(), browser)


def keep_browser(rt: CloudRuntime, request: Request, resp: Response, browser: str) -> None:
    """Give a new browser its cookie, so that its next post carries the id the form was for."""
    if request.cookies.get(security.BROWSER_COOKIE) != browser:
        resp.set_cookie(
            security.BROWSER_COOKIE,
            browser,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=rt.settings.cookie_secure,
        )


def form_csrf_ok(rt: CloudRuntime, request: Request, sent: object) -> bool:
    """Whether the form's token is the one made for this browser's cookie."""
    return security.csrf_ok(
        rt.settings.secret_key.get_secret_value(),
        request.cookies.get(security.BROWSER_COOKIE),
        sent if isinstance(sent, str) else None,
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a post is not taken: the HTTP status and the page's alert (a translation key)."""

    status_code: int
    alert: str


async def refusal(
    rt: CloudRuntime, request: Request, *, csrf: str, honeypot: str
) -> Refusal | None:
    """The checks before an anonymous post counts, in order: CSRF, the honeypot field, then the
    hourly limits (which count this post)."""
    browser = request.cookies.get(security.BROWSER_COOKIE)
    if browser is None or not form_csrf_ok(rt, request, csrf):
        return Refusal(403, "err_csrf")
    if honeypot:
        return Refusal(400, "err_bot")
    address = request.client.host if request.client else "unknown"
    if await over_limit(rt, browser, address):
        return Refusal(429, "err_rate")
    return None
