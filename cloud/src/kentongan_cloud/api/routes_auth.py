"""Login and logout: a session token as an HttpOnly cookie (with CSRF) or a bearer token."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from kentongan_cloud.api.auth import (
    COOKIE,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from kentongan_cloud.api.deps import PrincipalDep, RuntimeDep
from kentongan_cloud.api.models import LoginBody, LoginPublic, MePublic
from kentongan_cloud.records import UserAuditEntry

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
_REFUSED = "wrong username or password"


@router.post("/login")
async def login(rt: RuntimeDep, body: LoginBody, response: Response) -> LoginPublic:
    async with rt.db.transaction() as tx:
        user = await tx.users.get(body.username)
    if user is None or not user.active or not verify_password(body.password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _REFUSED)
    token, hashed = new_token()
    csrf, _ = new_token()
    now = rt.clock.now()
    expires = now + timedelta(hours=rt.settings.api.session_ttl_h)
    async with rt.db.transaction() as tx:
        await tx.users.add_session(hashed, user.username, csrf, now, expires)
        if needs_rehash(user.password_hash):
            # Only now is the password at hand to hash again (scrypt, or older parameters).
            await tx.users.set_password_hash(user.username, hash_password(body.password))
            scheme = user.password_hash.lstrip("$").split("$", 1)[0]
            detail = f"{scheme} hash replaced by argon2id with today's parameters"
            await tx.users.audit(UserAuditEntry(now, "system", "rehash", user.username, detail))
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(rt.settings.api.session_ttl_h * 3600),
        httponly=True,
        samesite="strict",
        secure=rt.settings.cookie_secure,
    )
    return LoginPublic(
        token=token, csrf_token=csrf, username=user.username, role=user.role, expires_at=expires
    )


@router.post("/logout", status_code=204)
async def logout(rt: RuntimeDep, who: PrincipalDep, request: Request) -> Response:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else request.cookies[COOKIE]
    async with rt.db.transaction() as tx:
        await tx.users.end_session(token_hash(token))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE)
    return response


@router.get("/me")
async def me(who: PrincipalDep) -> MePublic:
    return MePublic(
        username=who.username, role=who.role, gateway_id=who.gateway_id, agency_id=who.agency_id
    )
