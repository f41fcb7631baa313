"""Accounts, for admins: list, create, disable or enable, reset a password; each change is a
line in the account's audit log (and disabling or a new password ends its sessions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import Field

from kentongan_cloud.api.accounts import InvalidAccountError, check_account, describe
from kentongan_cloud.api.auth import Principal, Role, hash_password
from kentongan_cloud.api.deps import Admin, RuntimeDep
from kentongan_cloud.api.models import UNPROCESSABLE, Body, RecordPublic
from kentongan_cloud.errors import ConflictError, NotFoundError
from kentongan_cloud.records import UserAuditEntry, UserRecord
from kentongan_cloud.runtime import CloudRuntime

router = APIRouter(prefix="/api/v1/users", tags=["users"])
Password = Annotated[str, Field(min_length=10, max_length=200)]


class UserPublic(RecordPublic):
    username: str
    role: str
    gateway_id: str | None
    agency_id: str | None
    active: bool


class UserBody(Body):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9._-]+$")]
    password: Password
    role: Role
    gateway_id: Annotated[str | None, Field(max_length=32)] = None
    agency_id: Annotated[str | None, Field(max_length=32)] = None


class PasswordBody(Body):
    password: Password


class UserAuditPublic(Body):
    at: str
    actor: str
    action: str
    detail: str


@router.get("")
async def list_users(rt: RuntimeDep, _who: Admin) -> list[UserPublic]:
    async with rt.db.transaction() as tx:
        return [UserPublic.of(u) for u in await tx.users.all()]


@router.post("", status_code=201, responses=UNPROCESSABLE)
async def create_user(rt: RuntimeDep, who: Admin, body: UserBody) -> UserPublic:
    try:
        check_account(rt.provisioning, body.role, body.gateway_id, body.agency_id)
    except InvalidAccountError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    user = UserRecord(
        body.username,
        hash_password(body.password),
        body.role,
        body.gateway_id,
        True,
        body.agency_id,
    )
    now = rt.clock.now()
    async with rt.db.transaction() as tx:
        if await tx.users.get(body.username) is not None:
            msg = f"user {body.username} exists; reset its password or disable it instead"
            raise ConflictError(msg)
        await tx.users.upsert(user, now)
        await tx.users.audit(
            UserAuditEntry(now, who.actor, "create", user.username, describe(user))
        )
    return UserPublic.of(user)


async def _change(
    rt: CloudRuntime, who: Principal, username: str, action: str, user: UserRecord
) -> UserPublic:
    async with rt.db.transaction() as tx:
        await tx.users.upsert(user, rt.clock.now())  # replacing ends the sessions
        await tx.users.audit(UserAuditEntry(rt.clock.now(), who.actor, action, username, ""))
    return UserPublic.of(user)


async def _existing(rt: CloudRuntime, username: str) -> UserRecord:
    async with rt.db.transaction() as tx:
        user = await tx.users.get(username)
    if user is None:
        msg = f"user {username} not found"
        raise NotFoundError(msg)
    return user


@router.post("/{username}/disable")
async def disable_user(rt: RuntimeDep, who: Admin, username: str) -> UserPublic:
    """The account can no longer log in, and its sessions end now."""
    if username == who.username:
        msg = "an admin may not disable their own account (ask another admin)"
        raise ConflictError(msg)
    u = await _existing(rt, username)
    off = UserRecord(u.username, u.password_hash, u.role, u.gateway_id, False, u.agency_id)
    return await _change(rt, who, username, "disable", off)


@router.post("/{username}/enable")
async def enable_user(rt: RuntimeDep, who: Admin, username: str) -> UserPublic:
    u = await _existing(rt, username)
    on = UserRecord(u.username, u.password_hash, u.role, u.gateway_id, True, u.agency_id)
    return await _change(rt, who, username, "enable", on)


@router.post("/{username}/password")
async def reset_password(
    rt: RuntimeDep, who: Admin, username: str, body: PasswordBody
) -> UserPublic:
    """A new password; the account's sessions end (the old password may be known)."""
    u = await _existing(rt, username)
    new = UserRecord(
        u.username, hash_password(body.password), u.role, u.gateway_id, u.active, u.agency_id
    )
    return await _change(rt, who, username, "reset_password", new)


@router.get("/{username}/audit")
async def user_audit(rt: RuntimeDep, _who: Admin, username: str) -> list[UserAuditPublic]:
    async with rt.db.transaction() as tx:
        entries = await tx.users.audit_of(username)
    return [
        UserAuditPublic(at=e.at.isoformat(), actor=e.actor, action=e.action, detail=e.detail)
        for e in entries
    ]
