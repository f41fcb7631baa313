"""Operators' accounts and login sessions (tokens are stored only as hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.records import ApiSession, UserRecord
from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.types import UtcDateTime

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("gateway_id", String(32)),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
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


class UserRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, username: str) -> UserRecord | None:
        row = (await self.conn.execute(select(users).where(users.c.username == username))).first()
        if row is None:
            return None
        return UserRecord(row.username, row.password_hash, row.role, row.gateway_id, row.active)

    async def upsert(self, user: UserRecord, now: datetime) -> bool:
        """Create or replace an account; True when it was new."""
        values = {
            "password_hash": user.password_hash,
            "role": user.role,
            "gateway_id": user.gateway_id,
            "active": user.active,
        }
        res = await self.conn.execute(
            update(users).where(users.c.username == user.username).values(**values)
        )
        if res.rowcount == 1:
            await self.conn.execute(
                delete(api_sessions).where(api_sessions.c.username == user.username)
            )
            return False
        await self.conn.execute(
            insert(users).values(username=user.username, created_at=now, **values)
        )
        return True

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
                select(api_sessions, users.c.role, users.c.gateway_id)
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
        return ApiSession(row.username, row.role, row.gateway_id, row.csrf_token, row.expires_at)

    async def end_session(self, token_hash: str) -> None:
        await self.conn.execute(delete(api_sessions).where(api_sessions.c.token_hash == token_hash))
