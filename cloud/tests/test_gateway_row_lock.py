"""Two workers changing one post's row take turns: the second waits at the load until the
first commits, then reads the first one's change, so neither fails the version check. (On
PostgreSQL by the row lock; on SQLite by the write lock every transaction takes.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from kentongan_cloud.domain.sites import build_directory
from kentongan_cloud.store.db import Database
from kentongan_protocol.provisioning.tree import load_tree

GW = "gs-komering-putih-01"


def test_two_workers_changing_one_gateway_take_turns(db_url: str, config_tree: Path) -> None:
    prov = load_tree(config_tree)

    async def go() -> tuple[list[str], str | None]:
        first, second = Database(db_url), Database(db_url)  # two workers, two pools
        try:
            await first.create_schema()
            async with first.transaction() as tx:
                await tx.fleet.sync(build_directory(prov), prov.gateways.keys())
            steps: list[str] = []
            loaded = asyncio.Event()

            async def worker(db: Database, name: str) -> None:
                if name == "b":
                    await loaded.wait()  # b starts while a holds the row
                async with db.transaction() as tx:
                    g = (await tx.fleet.load([GW]))[GW]
                    steps.append(f"{name} loaded {g.firmware}")
                    if name == "a":
                        loaded.set()
                        await asyncio.sleep(0.5)
                    g.firmware = f"{g.firmware or ''}+{name}"
                    await tx.fleet.save_many([g])
                steps.append(f"{name} saved")

            await asyncio.gather(worker(first, "a"), worker(second, "b"))
            async with first.transaction() as tx:
                final = (await tx.fleet.load([GW]))[GW].firmware
            return steps, final
        finally:
            await first.close()
            await second.close()

    steps, final = asyncio.run(go())
    assert steps[0] == "a loaded None"
    assert "b loaded +a" in steps  # b waited for a's commit and read its change
    assert sorted(steps) == ["a loaded None", "a saved", "b loaded +a", "b saved"]
    assert final == "+a+b"
