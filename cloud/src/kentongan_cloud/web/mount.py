"""Plug the web pages into the API application."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from kentongan_cloud.web import (
    console_auth,
    routes_console,
    routes_guard,
    routes_guest,
    routes_ops_pages,
    routes_report,
    security,
)
from kentongan_cloud.web.render import STATIC_DIR


def mount_web(app: FastAPI) -> None:
    """The pages, their static files and the security headers on every response."""
    app.middleware("http")(security.security_headers)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        routes_guest,
        routes_report,
        console_auth,
        routes_console,
        routes_ops_pages,
        routes_guard,
    ):
        app.include_router(module.router)

    @app.exception_handler(console_auth.LoginNeededError)
    async def _login(request: Request, _exc: console_auth.LoginNeededError) -> RedirectResponse:
        return RedirectResponse(console_auth.LOGIN, status_code=303)
