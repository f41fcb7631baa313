"""Limits on anonymous reports, counted in the database so every worker sees the same hits.

Per browser cookie first; per address only loosely, as carriers put whole villages behind one
address. The JSON API (no cookie) gets the address limit only."""

from __future__ import annotations

from datetime import timedelta

from kentongan_cloud.runtime import CloudRuntime
from kentongan_cloud.web.security import browser_key

PER_BROWSER_PER_HOUR = 5
PER_ADDRESS_PER_HOUR = 300


async def over_limit(rt: CloudRuntime, browser: str | None, address: str) -> bool:
    """Count this report; True when the browser or the address is over its hourly limit."""
    now = rt.clock.now()
    since = now - timedelta(hours=1)
    async with rt.db.transaction() as tx:
        mine = 0 if browser is None else await tx.web.hit("b:" + browser_key(browser), now, since)
        shared = await tx.web.hit("a:" + browser_key(address), now, since)
    return mine > PER_BROWSER_PER_HOUR or shared > PER_ADDRESS_PER_HOUR
