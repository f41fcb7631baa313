"""Headers on every response, the anonymous browser cookie and form CSRF tokens.

The browser cookie is a random id that rate limits count against (carriers put whole villages
behind one address, so the address alone is a poor key); the form's CSRF token is an HMAC of
that id, so a page from another site cannot post a report on a resident's behalf.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

BROWSER_COOKIE = "kentongan_browser"
TILE_HOST = "https://tile.openstreetmap.org"
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: {TILE_HOST}",
        "connect-src 'self'",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Tracking codes are in page URLs: never hand them to another site.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}


async def security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: the same protective headers on every answer (pages, API, static files)."""
    response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def new_browser_id() -> str:
    return secrets.token_urlsafe(16)


def csrf_for(secret: str, browser_id: str) -> str:
    mac = hmac.new(secret.encode(), f"csrf:{browser_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def csrf_ok(secret: str, browser_id: str | None, sent: str | None) -> bool:
    if not browser_id or not sent:
        return False
    return hmac.compare_digest(csrf_for(secret, browser_id), sent)


def browser_key(browser_id: str) -> str:
    """What the rate-limit table stores: a hash, so the table links to no cookie."""
    return hashlib.sha256(browser_id.encode()).hexdigest()[:32]
