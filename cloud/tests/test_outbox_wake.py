"""After a commit the intake wakes the outbox worker only when the batch wrote rows that
worker delivers: a post's heartbeat (time-series points) must not send a worker without a
point writer to the database for nothing, a panic (its notification) must."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from pathlib import Path

from kentongan_cloud.clock import ManualClock
from kentongan_cloud.domain.sites import build_directory
from kentongan_cloud.intake.pipeline import Envelope, Intake
from kentongan_cloud.outbox.worker import OutboxWorker, Sinks
from kentongan_cloud.records import OutboxKind
from kentongan_cloud.settings import OutboxSettings
from kentongan_cloud.store.db import Database
from kentongan_protocol.provisioning.tree import load_tree
from kentongan_protocol.topics import Suffix
from kentongan_testkit.cloudharness import RecordingNotifier, VirtualPost

GW = "gs-komering-putih-01"


def test_the_intake_wakes_the_outbox_only_for_rows_it_delivers(
    db_url: str, config_tree: Path
) -> None:
    prov = load_tree(config_tree)
    directory = build_directory(prov)
    post = VirtualPost(None, directory.district_id, GW)  # type: ignore[arg-type]
    clock = ManualClock()

    async def go() -> list[tuple[set[OutboxKind], bool]]:
        db = Database(db_url)
        try:
            await db.create_schema()
            async with db.transaction() as tx:
                await tx.fleet.sync(directory, prov.gateways.keys())
            # A worker that notifies responders but writes no time series.
            worker = OutboxWorker(
                db,
                clock,
                OutboxSettings(),
                Sinks(notifier=RecordingNotifier()),
                district=directory.district_id,
            )
            seen: list[tuple[set[OutboxKind], bool]] = []

            def on_commit(kinds: Collection[OutboxKind]) -> None:
                seen.append((set(kinds), worker.delivers(kinds)))

            intake = Intake(
                db,
                directory,
                clock,
                command_expiry_s=60,
                heartbeat_factor=3.0,
                on_commit=on_commit,
            )
            telemetry = post.telemetry_payload()
            await intake.handle([Envelope(post.topic(Suffix.TELEMETRY), telemetry)])
            panic = post.event("panic").encode()
            await intake.handle([Envelope(post.topic(Suffix.EVENT), panic)])
            return seen
        finally:
            await db.close()

    [(heartbeat, woke_for_heartbeat), (panic, woke_for_panic)] = asyncio.run(go())
    assert heartbeat == {"point"}
    assert not woke_for_heartbeat
    assert {"notification", "point"} <= panic
    assert woke_for_panic
