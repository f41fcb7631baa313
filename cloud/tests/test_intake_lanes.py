"""A press is not held behind the background batch ahead of it: presses, cancels and reports
commit in a lane of their own. On PostgreSQL, with a post's telemetry stuck on that post's
row (another session holds it), a press from another post commits and is acknowledged at
once; the telemetry follows when the row is free. SQLite's one connection takes the lanes
in turn: both commit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kentongan_cloud.clock import ManualClock
from kentongan_cloud.domain.sites import build_directory
from kentongan_cloud.intake import pipeline
from kentongan_cloud.intake.pipeline import Intake
from kentongan_cloud.store.db import Database
from kentongan_protocol.provisioning.tree import load_tree
from kentongan_protocol.topics import Suffix
from kentongan_testkit.cloudharness import VirtualPost

A, B = "gs-komering-putih-01", "tb-poncowati-01"


async def until(done: Callable[[], bool], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def test_a_press_is_not_held_behind_a_stuck_background_batch(
    db_url: str, config_tree: Path
) -> None:
    prov = load_tree(config_tree)
    directory = build_directory(prov)
    a = VirtualPost(None, directory.district_id, A)  # type: ignore[arg-type]
    b = VirtualPost(None, directory.district_id, B)  # type: ignore[arg-type]
    pg = db_url.startswith("postgresql")

    async def go() -> tuple[list[str], list[str], int]:
        db, holder = Database(db_url), Database(db_url)
        acked: list[str] = []
        try:
            await db.create_schema()
            async with db.transaction() as tx:
                await tx.fleet.sync(directory, prov.gateways.keys())
            intake = Intake(db, directory, ManualClock(), command_expiry_s=60, heartbeat_factor=3)
            lanes = asyncio.create_task(intake.run())

            def send(post: VirtualPost, suffix: Suffix, payload: bytes, name: str) -> None:
                intake.offer(post.topic(suffix), payload, lambda: acked.append(name))

            telemetry = a.telemetry_payload()
            panic = b.event("panic").encode()
            if pg:
                async with holder.transaction() as tx:
                    await tx.fleet.load([A])  # holds post A's row until this block ends
                    send(a, Suffix.TELEMETRY, telemetry, "telemetry")
                    await asyncio.sleep(0.3)  # its transaction now waits on the row
                    send(b, Suffix.EVENT, panic, "panic")
                    await until(lambda: "panic" in acked, 10)
                    during = list(acked)
            else:
                send(a, Suffix.TELEMETRY, telemetry, "telemetry")
                send(b, Suffix.EVENT, panic, "panic")
                during = ["panic"]
            await until(lambda: len(acked) == 2, 10)
            lanes.cancel()
            async with db.transaction() as tx:
                events = await tx.intake.count_events()
            return during, sorted(acked), events
        finally:
            await db.close()
            await holder.close()

    during, acked, events = asyncio.run(go())
    assert during == ["panic"]  # committed and acknowledged while the telemetry waited
    assert acked == ["panic", "telemetry"]
    assert events == 1  # the press (telemetry is not an event row)


def test_a_message_the_classifier_fails_on_waits_in_the_background_lane(
    config_tree: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    directory = build_directory(load_tree(config_tree))
    post = VirtualPost(None, directory.district_id, A)  # type: ignore[arg-type]

    def broken(*_: object) -> None:
        raise ZeroDivisionError("classifier bug (test)")

    monkeypatch.setattr(pipeline, "classify_mqtt", broken)
    intake = Intake(None, directory, ManualClock(), command_expiry_s=60, heartbeat_factor=3)  # type: ignore[arg-type]
    intake.offer(post.topic(Suffix.EVENT), post.event("panic").encode(), None)
    assert intake.urgent.empty()
    env = intake.queue.get_nowait()
    assert (env.item, env.rejected) == (None, None)  # unclassified: the batch tries again
    assert "could not classify a message" in caplog.text
