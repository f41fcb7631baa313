"""Accounts, their audit log and login sessions (tokens are stored only as hashes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.records import ApiSession, UserAuditEntry, UserRecord
from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.types import UtcDateTime, row_of

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("gateway_id", String(32)),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("agency_id", String(32)),
)

api_sessions = Table(
    "api_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("users.username"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# No foreign key: the log outlives accounts and names the ones a typo asked for.
user_audit = Table(
    "user_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("username", String(64), nullable=False, index=True),
    Column("detail", Text, nullable=False),
)


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        row.username, row.password_hash, row.role, row.gateway_id, row.active, row.agency_id
    )


class UserRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, username: str) -> UserRecord | None:
        row = (await self.conn.execute(select(users).where(users.c.username == username))).first()
        return None if row is None else _user(row)

    async def all(self) -> list[UserRecord]:
        return [_user(r) for r in await self.conn.execute(select(users).order_by(users.c.username))]

    async def upsert(self, user: UserRecord, now: datetime) -> bool:
        """Create or replace an account (replacing ends its sessions); True when it was new."""
        values = {
            "password_hash": user.password_hash,
            "role": user.role,
            "gateway_id": user.gateway_id,
            "active": user.active,
            "agency_id": user.agency_id,
        }
        res = await self.conn.execute(
            update(users).where(users.c.username == user.username).values(**values)
        )
        if res.rowcount == 1:
            await self.end_sessions_of(user.username)
            return False
        await self.conn.execute(
            insert(users).values(username=user.username, created_at=now, **values)
        )
        return True

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        """A new hash of the same password (a rehash): the sessions stay."""
        await self.conn.execute(
            update(users).where(users.c.username == username).values(password_hash=password_hash)
        )

    async def end_sessions_of(self, username: str) -> None:
        await self.conn.execute(delete(api_sessions).where(api_sessions.c.username == username))

    async def audit(self, entry: UserAuditEntry) -> None:
        await self.conn.execute(insert(user_audit).values(**row_of(entry)))

    async def audit_of(self, username: str) -> list[UserAuditEntry]:
        rows = await self.conn.execute(
            select(user_audit).where(user_audit.c.username == username).order_by(user_audit.c.id)
        )
        return [UserAuditEntry(r.at, r.actor, r.action, r.username, r.detail) for r in rows]

    async def add_session(
        self, token_hash: str, username: str, csrf: str, now: datetime, expires: datetime
    ) -> None:
        await self.conn.execute(
            insert(api_sessions).values(
                token_hash=token_hash,
                username=username,
                csrf_token=csrf,
                created_at=now,
                expires_at=expires,
            )
        )

    async def session(self, token_hash: str, now: datetime) -> ApiSession | None:
        row = (
            await self.conn.execute(
                select(api_sessions, users.c.role, users.c.gateway_id, users.c.agency_id)
                .join(users, users.c.username == api_sessions.c.username)
                .where(
                    api_sessions.c.token_hash == token_hash,
                    api_sessions.c.expires_at > now,
                    users.c.active.is_(True),
                )
            )
        ).first()
        if row is None:
            return None
        return ApiSession(
            row.username, row.role, row.gateway_id, row.csrf_token, row.expires_at, row.agency_id
        )

    async def end_session(self, token_hash: str) -> None:
        await self.conn.execute(delete(api_sessions).where(api_sessions.c.token_hash == token_hash))
