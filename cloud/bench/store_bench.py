"""Measures the two SQLite writes every intake batch makes, on the event loop's thread:

- the events insert: SQLAlchemy's own executemany against `store.bulk.execute_many` (plain
  tuples, each column's bind step kept), the same rows alternating in one process, so the
  ratio holds on a noisy machine (left out when the cloud on PYTHONPATH predates it);
- the gateways' health: load, mark seen, save of --batch posts that have sent telemetry,
  the write each event pays (compare builds by alternating runs with the other build's
  `cloud/src` first on PYTHONPATH).

    .venv/bin/python cloud/bench/store_bench.py
    .venv/bin/python cloud/bench/store_bench.py --rows 20 --rounds 200

Figures are medians over --rounds transactions and are written to --out as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kentongan_cloud.domain import fleet as fleet_rules
from kentongan_cloud.domain.sites import build_directory
from kentongan_cloud.store.db import Database, Tx
from kentongan_cloud.store.intake import events
from kentongan_protocol.payloads import Telemetry
from kentongan_testkit.bench.district import generate_district
from kentongan_testkit.bench.report import write_json
from sqlalchemy import insert

try:
    from kentongan_cloud.store.bulk import execute_many
except ImportError:  # an older build's cloud/src on PYTHONPATH, for an A/B of the health figure
    execute_many = None  # type: ignore[assignment]

REPO = Path(__file__).resolve().parents[2]


def event_rows(n: int) -> list[dict[str, Any]]:
    """`n` battery-low events as the intake stores them."""
    now = datetime.now(UTC)
    return [
        {
            "event_id": str(uuid.uuid4()),
            "gateway_id": f"gw-{i:04d}",
            "district": "bench",
            "source": "sensor",
            "kind": "battery_low",
            "input": "aki_lemah",
            "incident_type": None,
            "status": "actual",
            "historical": False,
            "session_id": uuid.uuid4().hex,
            "boot_id": str(uuid.uuid4()),
            "seq": i,
            "monotonic_ms": i,
            "occurred_at": now,
            "clock_synced": True,
            "received_at": now,
            "incident_id": None,
            "outcome": "fleet",
            "cancels": None,
            "value": None,
            "lat": None,
            "lon": None,
            "detail": None,
        }
        for i in range(n)
    ]


async def timed(db: Database, work: Callable[[Tx], Awaitable[None]]) -> float:
    """One transaction's wall time in ms, commit included."""
    t0 = time.perf_counter()
    async with db.transaction() as tx:
        await work(tx)
    return (time.perf_counter() - t0) * 1000


async def inserts(db: Database, rows: int, rounds: int) -> dict[str, float]:
    stmt = insert(events)
    times: dict[str, list[float]] = {"sqlalchemy_ms": [], "execute_many_ms": []}

    async def theirs(tx: Tx) -> None:
        await tx.conn.execute(stmt, event_rows(rows))

    async def ours(tx: Tx) -> None:
        await execute_many(tx.conn, stmt, event_rows(rows))

    for _ in range(rounds):
        times["sqlalchemy_ms"].append(await timed(db, theirs))
        times["execute_many_ms"].append(await timed(db, ours))
    med = {k: statistics.median(v) for k, v in times.items()}
    return med | {"ratio": med["execute_many_ms"] / med["sqlalchemy_ms"]}


async def health(db: Database, ids: list[str], batch: int, rounds: int) -> dict[str, float]:
    now = datetime.now(UTC)
    beat = Telemetry(
        session_id=uuid.uuid4().hex,
        sent_at=now,
        clock_synced=True,
        uptime_s=600,
        cpu_temp_c=55.5,
        load_1m=0.4,
        memory_used_pct=41.0,
        disk_used_pct=30.0,
        wifi_signal_dbm=-67,
        power="mains",
        outbox_depth=0,
        shed_count=0,
    )

    async def heartbeat_all(tx: Tx) -> None:
        got = await tx.fleet.load(ids)
        for g in got.values():
            fleet_rules.on_telemetry(g, beat, now)
        await tx.fleet.save_many(list(got.values()))

    await timed(db, heartbeat_all)
    rnd = random.Random(1)
    times = []
    for _ in range(rounds):
        pick = rnd.sample(ids, batch)

        async def seen(tx: Tx, pick: list[str] = pick) -> None:
            got = await tx.fleet.load(pick)
            for g in got.values():
                fleet_rules.seen(g, datetime.now(UTC), 2.5)
            await tx.fleet.save_many(list(got.values()))

        times.append(await timed(db, seen))
    return {"load_seen_save_ms": statistics.median(times)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        prov = generate_district(REPO / "firmware_configs", Path(tmp) / "district", args.gateways)
        directory = build_directory(prov)
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        try:
            await db.create_schema()
            ids = sorted(directory.sites)
            async with db.transaction() as tx:
                await tx.fleet.sync(directory, ids)
            ins: dict[str, float] | None = None
            if execute_many is not None:
                ins = await inserts(db, args.rows, args.rounds)
                print(
                    f"insert of {args.rows} events: SQLAlchemy {ins['sqlalchemy_ms']:.2f} ms, "
                    f"execute_many {ins['execute_many_ms']:.2f} ms ({ins['ratio']:.2f} x)",
                    flush=True,
                )
            hl = await health(db, ids, args.batch, args.rounds)
            print(
                f"health of {args.batch} posts (load, seen, save): "
                f"{hl['load_seen_save_ms']:.2f} ms",
                flush=True,
            )
        finally:
            await db.close()
    return {
        "database": "sqlite",
        "gateways": args.gateways,
        "rows": args.rows,
        "batch": args.batch,
        "rounds": args.rounds,
        "events_insert": ins,
        "health": hl,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--gateways", type=int, default=2000, help="posts in the generated district")
    p.add_argument("--rows", type=int, default=100, help="events per insert")
    p.add_argument("--batch", type=int, default=100, help="posts per health transaction")
    p.add_argument("--rounds", type=int, default=60, help="transactions per figure")
    p.add_argument("--out", type=Path, default=REPO / "bench-results" / "store-bench.json")
    args = p.parse_args(argv)
    result = asyncio.run(main_async(args))
    write_json(args.out, result)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
