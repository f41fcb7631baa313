"""Typed dependencies: the runtime, the caller and role checks."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, cast

from fastapi import Depends, HTTPException, Request, status

from kentongan_cloud.api.accounts import reach
from kentongan_cloud.api.auth import COOKIE, CSRF_HEADER, Principal, Role, token_hash
from kentongan_cloud.errors import NotFoundError
from kentongan_cloud.runtime import CloudRuntime

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> CloudRuntime:
    return cast(CloudRuntime, request.app.state.runtime)


RuntimeDep = Annotated[CloudRuntime, Depends(get_runtime)]


async def get_principal(request: Request, rt: RuntimeDep) -> Principal:
    """The caller from `Authorization: Bearer` or the session cookie (which needs CSRF)."""
    auth = request.headers.get("authorization", "")
    via: str
    if auth.lower().startswith("bearer "):
        token, via = auth[7:].strip(), "bearer"
    elif COOKIE in request.cookies:
        token, via = request.cookies[COOKIE], "cookie"
    else:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "not authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with rt.db.transaction() as tx:
        sess = await tx.users.session(token_hash(token), rt.clock.now())
    if sess is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "session expired or unknown; log in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if via == "cookie" and request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or sent != sess.csrf_token:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return Principal(
        sess.username,
        cast(Role, sess.role),
        sess.gateway_id,
        "cookie" if via == "cookie" else "bearer",
        sess.csrf_token,
        sess.agency_id,
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role, doing: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency letting only these roles through, with a 403 that says what was refused."""

    async def check(who: PrincipalDep) -> Principal:
        if who.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {who.role} may not {doing}")
        return who

    return check


def require_for_incident(*roles: Role, doing: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """As `require`, and a responder reaches only its agency's incidents: any other is
    answered 404, as if it did not exist (its place and kind are not the agency's business)."""
    allowed = require(*roles, doing=doing)

    # A default, not Annotated: the annotations are strings and `allowed` is not a global.
    async def check(
        rt: RuntimeDep,
        incident_id: str,
        who: Principal = Depends(allowed),  # noqa: B008 - FastAPI's way
    ) -> Principal:
        limit = reach(rt.provisioning, who)
        if limit is not None:
            async with rt.db.transaction() as tx:
                if not await limit.reaches(tx.conn, incident_id):
                    msg = f"incident {incident_id} not found"
                    raise NotFoundError(msg)
        return who

    return check


READERS: tuple[Role, ...] = ("viewer", "operator", "supervisor", "technician", "admin")
ACTORS: tuple[Role, ...] = ("operator", "supervisor", "admin")
"""Unlimited readers and actors; responders get their own, agency-limited, dependencies."""

Reader = Annotated[Principal, Depends(require(*READERS, doing="read incidents"))]
FleetReader = Annotated[Principal, Depends(require(*READERS, doing="read the fleet"))]
IncidentActor = Annotated[Principal, Depends(require(*ACTORS, doing="change incidents"))]
AreaActor = Annotated[Principal, Depends(require(*ACTORS, doing="sound area alarms"))]
Technician = Annotated[
    Principal,
    Depends(require("technician", "admin", doing="switch a post's maintenance mode")),
]
Guard = Annotated[Principal, Depends(require("guard", doing="report from a post's phone"))]
Admin = Annotated[Principal, Depends(require("admin", doing="manage user accounts"))]
# A responder's list is filtered in the query; one incident is checked on its id.
BoardReader = Annotated[Principal, Depends(require(*READERS, "responder", doing="read incidents"))]
IncidentReader = Annotated[
    Principal, Depends(require_for_incident(*READERS, "responder", doing="read incidents"))
]
IncidentAcknowledger = Annotated[
    Principal,
    Depends(require_for_incident(*ACTORS, "responder", doing="change incidents")),
]
