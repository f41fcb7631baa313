"""An outbox pass gives the event loop back between rows, even when its sink never waits:
technicians' alerts that no provider can send, on SQLite (which runs in the loop's thread),
touch no network and nothing that suspends. The intake shares that loop, and a panic must
not queue behind a pass of twenty such alerts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from kentongan_cloud.clock import ManualClock
from kentongan_cloud.outbox.worker import OutboxWorker, Sinks
from kentongan_cloud.ports import FleetAlert
from kentongan_cloud.records import OutboxItem
from kentongan_cloud.responders.fleet_alerts import FleetAlerts
from kentongan_cloud.settings import OutboxSettings
from kentongan_cloud.store.db import Database
from kentongan_cloud.store.fleet_alerts import FleetAlertLog
from kentongan_cloud.store.responders import ResponderStore
from kentongan_protocol.provisioning.tree import Provisioning

ROWS = 12


class CountingClock(ManualClock):
    """Counts its readings: the sink reads the time once per alert it handles, so another
    task that sees the count change saw the pass part-way through."""

    def __init__(self) -> None:
        super().__init__()
        self.readings = 0

    def now(self) -> datetime:
        self.readings += 1
        return super().now()


def test_a_pass_of_alerts_lets_other_tasks_run_between_rows(
    db_url: str, provisioning: Provisioning
) -> None:
    clock = CountingClock()
    at = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    gateway = next(iter(provisioning.gateways.values())).gateway
    kecamatan, _ = provisioning.district.kampung_by_id()[gateway.kampung]

    async def go() -> tuple[set[int], list[dict[str, object]]]:
        db = Database(db_url)
        try:
            await db.create_schema()
            await ResponderStore(db.engine).create_tables()
            rows = [
                OutboxItem(
                    "fleet_alert",
                    f"fleet:{gateway.gateway_id}:battery_low:{i}",
                    FleetAlert(
                        gateway_id=gateway.gateway_id,
                        post_name=gateway.post_name,
                        kecamatan=kecamatan.id,
                        kampung=gateway.kampung,
                        kind="battery_low",
                        raised_at=at,
                        text="aki lemah",
                    ).model_dump_json(),
                )
                for i in range(ROWS)
            ]
            async with db.transaction() as tx:
                await tx.outbox.add(rows, clock.now())
            # No channel has a provider: every alert is recorded "unconfigured", sent nowhere.
            log = FleetAlertLog(db.engine)
            sink = FleetAlerts(provisioning.district, {}, log, clock)
            worker = OutboxWorker(
                db, clock, OutboxSettings(), Sinks(fleet_alerts=sink), district="d"
            )
            # How far the pass had got each time another task (the intake) had the loop.
            seen: set[int] = set()

            async def other_task() -> None:
                while True:
                    seen.add(clock.readings)
                    await asyncio.sleep(0)

            ticker = asyncio.create_task(other_task())
            await asyncio.sleep(0)
            seen.clear()
            try:
                assert await worker.drain_once() == ROWS
            finally:
                ticker.cancel()
            return seen, list(await log.rows())
        finally:
            await db.close()

    seen, logged = asyncio.run(go())
    assert {r["key"] for r in logged} == {
        f"fleet:{gateway.gateway_id}:battery_low:{i}" for i in range(ROWS)
    }
    assert {r["outcome"] for r in logged} == {"unconfigured"}
    # The other task ran between the alerts, not only before and after the pass.
    assert len(seen) > ROWS
