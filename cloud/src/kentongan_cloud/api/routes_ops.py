"""Area alarms (titir, stop, all-clear), health and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kentongan_cloud.api.deps import AreaActor, Reader, RuntimeDep
from kentongan_cloud.api.models import AreaAlarmBody, AreaAlarmPublic, CommandPublic
from kentongan_cloud.errors import NotFoundError
from kentongan_cloud.runtime import CloudRuntime

router = APIRouter(tags=["operations"])


async def _alarm(rt: CloudRuntime, alarm_id: str) -> AreaAlarmPublic:
    async with rt.db.transaction() as tx:
        alarm = await tx.commands.area_alarm(alarm_id)
        if alarm is None:
            msg = f"area alarm {alarm_id} not found"
            raise NotFoundError(msg)
        cmds = await tx.commands.for_alarm(alarm_id)
        acks = await tx.commands.acks_for([c.command_id for c in cmds])
    return AreaAlarmPublic.of(alarm, [CommandPublic.of(c, acks) for c in cmds])


@router.post("/api/v1/area-alarms", status_code=201)
async def start_area_alarm(rt: RuntimeDep, who: AreaActor, body: AreaAlarmBody) -> AreaAlarmPublic:
    """Sound every post in the area (empty area: the whole district) with one broadcast."""
    alarm = await rt.operations.area_alarm(body.area, body.pattern, body.duration_s, who.actor)
    return await _alarm(rt, alarm.alarm_id)


@router.get("/api/v1/area-alarms")
async def list_area_alarms(rt: RuntimeDep, _who: Reader) -> list[AreaAlarmPublic]:
    async with rt.db.transaction() as tx:
        found = await tx.commands.area_alarms()
    return [AreaAlarmPublic.of(a, []) for a in found]


@router.get("/api/v1/area-alarms/{alarm_id}")
async def get_area_alarm(rt: RuntimeDep, _who: Reader, alarm_id: str) -> AreaAlarmPublic:
    return await _alarm(rt, alarm_id)


@router.post("/api/v1/area-alarms/{alarm_id}/stop")
async def stop_area_alarm(rt: RuntimeDep, who: AreaActor, alarm_id: str) -> AreaAlarmPublic:
    """Silence the area's sirens without the all-clear."""
    await rt.operations.area_end(alarm_id, "stop", who.actor)
    return await _alarm(rt, alarm_id)


@router.post("/api/v1/area-alarms/{alarm_id}/all-clear")
async def all_clear(rt: RuntimeDep, who: AreaActor, alarm_id: str) -> AreaAlarmPublic:
    """Sound aman (the all-clear) in the area; it supersedes the alarm at every post."""
    await rt.operations.area_end(alarm_id, "all_clear", who.actor)
    return await _alarm(rt, alarm_id)


@router.get("/health")
async def health(rt: RuntimeDep) -> dict[str, object]:
    """Liveness and what this process is connected to."""
    async with rt.db.transaction() as tx:
        await tx.intake.rejection_counts()
    return {
        "status": "ok",
        "district": rt.directory.district_id,
        "database": rt.db.dialect,
        "mqtt": None if rt.link is None else rt.link.connected.is_set(),
    }


@router.get("/metrics", response_class=Response)
async def metrics(rt: RuntimeDep) -> Response:
    """Prometheus text format; counts come from the database, shared by all workers."""
    async with rt.db.transaction() as tx:
        rejected = await tx.intake.rejection_counts()
        events = await tx.intake.count_events()
        pending = await tx.outbox.pending_counts()
        gws = await tx.fleet.rows()
        open_incidents = await tx.incidents.search(open_only=True, limit=500)
    lines = [
        "# HELP kentongan_events_total Events committed (all sources, all workers).",
        "# TYPE kentongan_events_total counter",
        f"kentongan_events_total {events}",
        "# HELP kentongan_intake_rejected_total Messages refused by the intake, by reason.",
        "# TYPE kentongan_intake_rejected_total counter",
        *(
            f'kentongan_intake_rejected_total{{reason="{r}"}} {n}'
            for r, n in sorted(rejected.items())
        ),
        "# HELP kentongan_outbox_pending Side effects not yet delivered, by kind.",
        "# TYPE kentongan_outbox_pending gauge",
        *(f'kentongan_outbox_pending{{kind="{k}"}} {n}' for k, n in sorted(pending.items())),
        "# HELP kentongan_gateways_online Gateways known to be online.",
        "# TYPE kentongan_gateways_online gauge",
        f"kentongan_gateways_online {sum(1 for g in gws if g['online'])}",
        "# HELP kentongan_incidents_open Open incidents.",
        "# TYPE kentongan_incidents_open gauge",
        f"kentongan_incidents_open {len(open_incidents)}",
    ]
    if rt.intake is not None:
        lines += [
            "# HELP kentongan_intake_batches_total Commit batches of this process.",
            "# TYPE kentongan_intake_batches_total counter",
            f"kentongan_intake_batches_total {rt.intake.stats.batches}",
        ]
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
