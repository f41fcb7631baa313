"""`create_app(settings)`: the FastAPI application, with no state created at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kentongan_cloud.api import (
    routes_auth,
    routes_fleet,
    routes_gateways,
    routes_incidents,
    routes_intake,
    routes_ops,
    routes_users,
)
from kentongan_cloud.api.models import ErrorBody
from kentongan_cloud.errors import ConflictError, NotFoundError
from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.settings import Settings
from kentongan_cloud.web.mount import mount_web

_LOGGER = logging.getLogger(__name__)


# Documented for every operation, so clients (and schemathesis) know the refusals' shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "not logged in, or wrong credentials"},
    403: {"model": ErrorBody, "description": "the role may not do this, or a CSRF mismatch"},
    404: {"model": ErrorBody, "description": "no such resource"},
    409: {"model": ErrorBody, "description": "conflicts with the current state"},
}


def create_app(settings: Settings, *, runtime: CloudRuntime | None = None) -> FastAPI:
    """The API. With `runtime`, it serves that (already started) runtime; without, it starts
    one of its own for HTTP only (no MQTT, no outbox delivery) and stops it at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        own = CloudRuntime(settings, mqtt=False, outbox=False, sweeper=False)
        await own.start()
        app.state.runtime = own
        try:
            yield
        finally:
            await own.stop()

    app = FastAPI(
        title="Kentongan command centre",
        version="0.1.0",
        description="Incidents, fleet health and area alarms of a Kentongan district.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    if runtime is not None:
        app.state.runtime = runtime
    modules = (
        routes_auth,
        routes_incidents,
        routes_fleet,
        routes_gateways,
        routes_ops,
        routes_intake,
        routes_users,
    )
    for module in modules:
        app.include_router(module.router)
    if runtime is not None and runtime.responders is not None:
        # The one-tap acknowledgement links and the providers' inbound replies.
        app.include_router(runtime.responders.router())
    mount_web(app)

    @app.exception_handler(NotFoundError)
    async def _not_found(_r: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ConflictError)
    async def _conflict(_r: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    return app
