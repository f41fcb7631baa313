"""Measures the outbox claim as delivered rows pile up behind the queue.

On each database of --databases, a fresh schema; a first queue of --queue siren commands
and --others technicians' alerts, all pending and due, and the planner's statistics taken
then (as the cloud's were during a storm: they are refreshed a minute apart at best). Then
passes as a worker makes them: --batch new commands arrive, a claim takes up to --batch due
commands, and they are marked delivered; until --history commands have gone. A claim that
walks delivered rows slows as the history grows; one that walks only pending rows does not.

Prints, per database, the median claim (its transaction, commit included) over the first
and the last --window passes and their ratio, and writes them to --out as JSON. Compare
builds by alternating runs with the other build's `cloud/src` first on PYTHONPATH.

    .venv/bin/python cloud/bench/outbox_bench.py
    .venv/bin/python cloud/bench/outbox_bench.py --databases postgresql --history 60000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kentongan_cloud.records import OutboxItem, OutboxKind
from kentongan_cloud.store.db import Database
from kentongan_testkit.bench.database import pg_server
from kentongan_testkit.bench.report import write_json
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[2]
COMMANDS: tuple[OutboxKind, ...] = ("command", "broadcast")


def items(kind: OutboxKind, start: int, n: int) -> list[OutboxItem]:
    return [OutboxItem(kind, f"{kind}:{i}", '{"bench": true}') for i in range(start, start + n)]


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The claim times of one database, first and last window."""
    db = Database(url)
    try:
        await db.create_schema()
        t = datetime.now(UTC)
        async with db.transaction() as tx:
            await tx.outbox.add(items("fleet_alert", 0, args.others), t)
            await tx.outbox.add(items("command", 0, args.queue), t)
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE outbox" if "postgresql" in url else "ANALYZE"))
        times: list[float] = []
        made = args.queue
        passes = args.history // args.batch
        for n in range(passes):
            t += timedelta(milliseconds=100)
            async with db.transaction() as tx:
                await tx.outbox.add(items("command", made, args.batch), t)
            made += args.batch
            t0 = time.perf_counter()
            async with db.transaction() as tx:
                rows = await tx.outbox.claim(COMMANDS, t, args.batch, 30.0)
            times.append((time.perf_counter() - t0) * 1000)
            async with db.transaction() as tx:
                await tx.outbox.delivered_many(rows, t)
            if (n + 1) % max(1, passes // 5) == 0:
                print(f"  {(n + 1) * args.batch:,} commands delivered", flush=True)
    finally:
        await db.close()
    first = statistics.median(times[: args.window])
    last = statistics.median(times[-args.window :])
    return {"first_ms": first, "last_ms": last, "ratio": last / first, "passes": passes}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        k: getattr(args, k) for k in ("queue", "others", "batch", "history", "window")
    }
    for name in args.databases.split(","):
        print(f"{name}: {args.history:,} commands through a queue of {args.queue}", flush=True)
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                fig = await run(f"sqlite+aiosqlite:///{Path(tmp) / 'outbox.sqlite3'}", args)
        elif name == "postgresql":
            server = pg_server()
            dbname = server.create_database(f"kentongan_outbox_bench_{time.time_ns()}")
            try:
                fig = await run(server.url(dbname), args)
            finally:
                server.drop_database(dbname)
        else:
            msg = f"--databases: expected a comma list of sqlite, postgresql; got {name!r}"
            raise SystemExit(msg)
        print(
            f"{name}: claim of {args.batch}, median of {args.window} passes: "
            f"first {fig['first_ms']:.2f} ms, last {fig['last_ms']:.2f} ms "
            f"({fig['ratio']:.2f} x)",
            flush=True,
        )
        result[name] = fig
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--databases", default="sqlite,postgresql", help="comma list")
    p.add_argument("--queue", type=int, default=1000, help="commands pending at the start")
    p.add_argument("--others", type=int, default=2000, help="alerts pending throughout")
    p.add_argument("--batch", type=int, default=200, help="commands per pass")
    p.add_argument("--history", type=int, default=40000, help="commands delivered in all")
    p.add_argument("--window", type=int, default=20, help="passes per median")
    p.add_argument("--out", type=Path, default=REPO / "bench-results" / "outbox-bench.json")
    args = p.parse_args(argv)
    write_json(args.out, asyncio.run(main_async(args)))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
