"""A technician's switches for one post from the command centre: maintenance mode on for a
while, or off. Each is an expiring command to the post, audited; the post's heartbeat then
reports the mode, which the fleet view shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from kentongan_protocol.payloads import MAX_MAINTENANCE_MIN
from pydantic import Field, model_validator

from kentongan_cloud.api.deps import FleetReader, RuntimeDep, Technician
from kentongan_cloud.api.models import UNPROCESSABLE, Body, CommandPublic, GatewayPublic
from kentongan_cloud.errors import NotFoundError
from kentongan_cloud.fanout import maintenance_key
from kentongan_cloud.runtime import CloudRuntime

router = APIRouter(prefix="/api/v1/gateways", tags=["fleet"])


class MaintenanceBody(Body):
    """`on` with `minutes` (1..1440), or `on: false` alone."""

    on: bool
    minutes: Annotated[int, Field(ge=1, le=MAX_MAINTENANCE_MIN)] | None = None

    @model_validator(mode="after")
    def _minutes_with_on(self) -> MaintenanceBody:
        if self.on and self.minutes is None:
            msg = f"minutes (1..{MAX_MAINTENANCE_MIN}) are needed to switch maintenance on"
            raise ValueError(msg)
        if not self.on and self.minutes is not None:
            msg = "minutes go only with on=true; maintenance off takes none"
            raise ValueError(msg)
        return self


class GatewayAuditPublic(Body):
    at: datetime
    actor: str
    action: str
    detail: str
    command_id: str | None


class MaintenancePublic(Body):
    """The post's mode as its last heartbeat said, and the switches asked of it (newest
    first, with the post's acks)."""

    gateway_id: str
    online: bool
    maintenance: bool
    maintenance_until: datetime | None
    commands: list[CommandPublic]
    audit: list[GatewayAuditPublic]


async def _view(rt: CloudRuntime, gateway_id: str) -> MaintenancePublic:
    async with rt.db.transaction() as tx:
        rows = await tx.fleet.rows(gateway_id)
        if not rows:
            msg = f"gateway {gateway_id} not found"
            raise NotFoundError(msg)
        cmds = await tx.commands.for_alarm(maintenance_key(gateway_id))
        acks = await tx.commands.acks_for([c.command_id for c in cmds])
        audit = await tx.fleet.audit_of(gateway_id)
    gw = GatewayPublic.of(rows[0], [])
    return MaintenancePublic(
        gateway_id=gateway_id,
        online=gw.online,
        maintenance=gw.maintenance,
        maintenance_until=gw.maintenance_until,
        commands=[CommandPublic.of(c, acks) for c in reversed(cmds)],
        audit=[
            GatewayAuditPublic(
                at=a.at, actor=a.actor, action=a.action, detail=a.detail, command_id=a.command_id
            )
            for a in audit
        ],
    )


@router.post("/{gateway_id}/maintenance", status_code=202, responses=UNPROCESSABLE)
async def switch_maintenance(
    rt: RuntimeDep, who: Technician, gateway_id: str, body: MaintenanceBody
) -> MaintenancePublic:
    """Maintenance on for `minutes` (the post's events go out as tests, paging nobody, and a
    panic only chirps), or off. Accepted, not yet applied: `commands[0]` gets the post's ack;
    a post offline for longer than the command's expiry never gets it."""
    await rt.operations.maintenance(gateway_id, body.minutes if body.on else None, who.actor)
    return await _view(rt, gateway_id)


@router.get("/{gateway_id}/maintenance")
async def maintenance_state(
    rt: RuntimeDep, _who: FleetReader, gateway_id: str
) -> MaintenancePublic:
    return await _view(rt, gateway_id)
