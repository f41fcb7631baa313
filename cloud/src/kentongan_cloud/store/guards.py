"""Guards' phones: one-time enrolment codes, enrolled devices with their PIN, and the
failed-PIN count and lockout (in the database, so every worker enforces the same lock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Integer, String, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.types import UtcDateTime

guard_enrolments = Table(
    "guard_enrolments",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("gateway_id", String(32), nullable=False),
    Column("guard_name", String(80), nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

guard_devices = Table(
    "guard_devices",
    metadata,
    Column("device_id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("username", String(64), nullable=False),
    Column("gateway_id", String(32), nullable=False),
    Column("guard_name", String(80), nullable=False),
    Column("pin_hash", String(256), nullable=False),
    Column("failed_pins", Integer, nullable=False),
    Column("locked_at", UtcDateTime),
    Column("revoked", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Enrolment:
    gateway_id: str
    guard_name: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class GuardDevice:
    device_id: str
    username: str
    gateway_id: str
    guard_name: str
    pin_hash: str
    failed_pins: int
    locked_at: datetime | None
    revoked: bool
    created_at: datetime


class GuardRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add_enrolment(
        self,
        code_hash: str,
        gateway_id: str,
        guard_name: str,
        by: str,
        now: datetime,
        expires: datetime,
    ) -> None:
        await self.conn.execute(
            insert(guard_enrolments).values(
                code_hash=code_hash,
                gateway_id=gateway_id,
                guard_name=guard_name,
                created_by=by,
                created_at=now,
                expires_at=expires,
            )
        )

    async def enrolment(self, code_hash: str) -> Enrolment | None:
        row = (
            await self.conn.execute(
                select(guard_enrolments).where(guard_enrolments.c.code_hash == code_hash)
            )
        ).first()
        if row is None:
            return None
        return Enrolment(row.gateway_id, row.guard_name, row.expires_at, row.used_at)

    async def use_enrolment(self, code_hash: str, now: datetime) -> bool:
        """Mark the code used; False when another request used it first."""
        res = await self.conn.execute(
            update(guard_enrolments)
            .where(guard_enrolments.c.code_hash == code_hash, guard_enrolments.c.used_at.is_(None))
            .values(used_at=now)
        )
        return res.rowcount == 1

    async def add_device(self, dev: GuardDevice, token_hash: str) -> None:
        await self.conn.execute(
            insert(guard_devices).values(
                device_id=dev.device_id,
                token_hash=token_hash,
                username=dev.username,
                gateway_id=dev.gateway_id,
                guard_name=dev.guard_name,
                pin_hash=dev.pin_hash,
                failed_pins=0,
                locked_at=None,
                revoked=False,
                created_at=dev.created_at,
            )
        )

    async def device(self, token_hash: str) -> GuardDevice | None:
        row = (
            await self.conn.execute(
                select(guard_devices).where(guard_devices.c.token_hash == token_hash)
            )
        ).first()
        return None if row is None else _device(row)

    async def devices(self) -> list[GuardDevice]:
        rows = await self.conn.execute(
            select(guard_devices).order_by(guard_devices.c.created_at.desc())
        )
        return [_device(r) for r in rows]

    async def pin_failed(self, device_id: str, lock_after: int, now: datetime) -> int:
        """Count one wrong PIN (atomically); lock the device at `lock_after`. The new count."""
        await self.conn.execute(
            update(guard_devices)
            .where(guard_devices.c.device_id == device_id)
            .values(failed_pins=guard_devices.c.failed_pins + 1)
        )
        count = int(
            (
                await self.conn.execute(
                    select(guard_devices.c.failed_pins).where(
                        guard_devices.c.device_id == device_id
                    )
                )
            ).scalar_one()
        )
        if count >= lock_after:
            await self.conn.execute(
                update(guard_devices)
                .where(guard_devices.c.device_id == device_id, guard_devices.c.locked_at.is_(None))
                .values(locked_at=now)
            )
        return count

    async def pin_ok(self, device_id: str) -> None:
        await self.conn.execute(
            update(guard_devices)
            .where(guard_devices.c.device_id == device_id)
            .values(failed_pins=0)
        )

    async def revoke(self, device_id: str) -> str | None:
        """Revoke a device; the username of its guard account (to deactivate), if any."""
        row = (
            await self.conn.execute(
                select(guard_devices.c.username).where(guard_devices.c.device_id == device_id)
            )
        ).first()
        if row is None:
            return None
        await self.conn.execute(
            update(guard_devices).where(guard_devices.c.device_id == device_id).values(revoked=True)
        )
        return str(row.username)


def _device(r: Any) -> GuardDevice:
    return GuardDevice(
        r.device_id,
        r.username,
        r.gateway_id,
        r.guard_name,
        r.pin_hash,
        r.failed_pins,
        r.locked_at,
        r.revoked,
        r.created_at,
    )
