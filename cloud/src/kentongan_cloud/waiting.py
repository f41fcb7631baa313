"""Waits with a timeout that a cancellation always ends.

On Python 3.11, `asyncio.wait_for` returns the awaited result when the cancellation of its
task arrives in the same loop turn as that result (CPython gh-86296, fixed in 3.12): the
cancellation is lost. A worker loop waiting on its wake-up event then goes on forever, and
whoever cancelled it and awaits it waits as long. The cloud's stop and crash met exactly
that: an outbox woken by a commit just as it was cancelled. `asyncio.timeout` counts
cancellations and does not lose one, so every wait here is built on it.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

T = TypeVar("T")


async def wait_set(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until `event` is set or `timeout_s` has passed; True if it was set."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return event.is_set()
    return True


async def result_within(fut: asyncio.Future[T], timeout_s: float) -> T:
    """`fut`'s result, or TimeoutError (and `fut` cancelled) after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        return await fut
