"""Fleet health: every gateway's online state, last telemetry, duty, alarms and seq gaps."""

from __future__ import annotations

from fastapi import APIRouter

from kentongan_cloud.api.deps import FleetReader, RuntimeDep
from kentongan_cloud.api.models import FleetAlarmPublic, GatewayPublic
from kentongan_cloud.errors import NotFoundError

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])


@router.get("")
async def fleet(rt: RuntimeDep, _who: FleetReader) -> list[GatewayPublic]:
    async with rt.db.transaction() as tx:
        rows = await tx.fleet.rows()
    return [GatewayPublic.of(r, []) for r in rows]


@router.get("/alarms")
async def fleet_alarms(
    rt: RuntimeDep, _who: FleetReader, open_only: bool = True
) -> list[FleetAlarmPublic]:
    """Offline, power, tamper and siren alarms (open ones by default)."""
    async with rt.db.transaction() as tx:
        found = await tx.fleet.alarms(open_only=open_only)
    return [FleetAlarmPublic.of(a) for a in found]


@router.get("/{gateway_id}")
async def gateway(rt: RuntimeDep, _who: FleetReader, gateway_id: str) -> GatewayPublic:
    """One gateway with its recent sessions and the sequence numbers missing in each."""
    async with rt.db.transaction() as tx:
        rows = await tx.fleet.rows(gateway_id)
        sessions = await tx.intake.sessions(gateway_id)
    if not rows:
        msg = f"gateway {gateway_id} not found"
        raise NotFoundError(msg)
    return GatewayPublic.of(rows[0], sessions[:10])
