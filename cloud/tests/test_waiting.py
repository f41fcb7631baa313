"""A worker loop that waits on its wake-up event ends when cancelled, even when the
cancellation arrives in the same turns of the loop as the wake-up. On Python 3.11
`asyncio.wait_for` lost such a cancellation (CPython gh-86296): the cloud's crash then
waited a minute on an outbox that went on polling."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from kentongan_cloud.clock import ManualClock
from kentongan_cloud.outbox.worker import OutboxWorker, Sinks
from kentongan_cloud.settings import OutboxSettings
from kentongan_cloud.store.db import Database
from kentongan_cloud.waiting import result_within, wait_set
from kentongan_testkit.cloudharness import RecordingNotifier

# Loop turns between the wake-up and the cancellation: with wait_for it was lost in turns 0-2.
TURNS = range(5)


async def _cancel_after_wake(
    wake: asyncio.Event, turns: int, loop_body: Coroutine[Any, Any, None]
) -> bool:
    """Start `loop_body`, let it settle into its wait, wake it, cancel it `turns` later;
    whether it ended within a second."""
    task = asyncio.create_task(loop_body)
    for _ in range(5):
        await asyncio.sleep(0)
    wake.set()
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=1.0)
    if not done:
        task.cancel()  # once more, so the test itself ends
        await asyncio.wait([task], timeout=1.0)
    return bool(done) and task.cancelled()


@pytest.mark.parametrize("turns", TURNS)
def test_a_wake_up_loop_ends_when_cancelled_as_it_wakes(turns: int) -> None:
    async def go() -> bool:
        wake = asyncio.Event()

        async def worker_loop() -> None:
            while True:
                await wait_set(wake, 30.0)
                wake.clear()

        return await _cancel_after_wake(wake, turns, worker_loop())

    assert asyncio.run(go())


@pytest.mark.parametrize("turns", TURNS)
def test_the_outbox_ends_when_cancelled_as_a_commit_wakes_it(turns: int, tmp_path: Path) -> None:
    async def go() -> bool:
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/outbox.db")
        try:
            await db.create_schema()
            settings = OutboxSettings(poll_interval_s=30.0)
            sinks = Sinks(notifier=RecordingNotifier())
            worker = OutboxWorker(db, ManualClock(), settings, sinks, district="d")
            return await _cancel_after_wake(worker._wake, turns, worker.run())
        finally:
            await db.close()

    assert asyncio.run(go())


def test_wait_set_says_whether_the_event_came() -> None:
    async def go() -> tuple[bool, bool]:
        wake = asyncio.Event()
        missed = await wait_set(wake, 0.01)
        asyncio.get_running_loop().call_later(0.01, wake.set)
        came = await wait_set(wake, 5.0)
        return missed, came

    assert asyncio.run(go()) == (False, True)


def test_result_within_gives_the_result_or_times_out() -> None:
    async def go() -> tuple[int, bool]:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[int] = loop.create_future()
        loop.call_later(0.01, ready.set_result, 7)
        got = await result_within(ready, 5.0)
        never: asyncio.Future[int] = loop.create_future()
        with pytest.raises(TimeoutError):
            await result_within(never, 0.01)
        return got, never.cancelled()

    assert asyncio.run(go()) == (7, True)
