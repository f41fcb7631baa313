"""Measures the cloud's intake commit path alone: MQTT bytes in, rows committed, acks out.

    .venv/bin/python cloud/bench/intake_bench.py                 # SQLite and PostgreSQL
    .venv/bin/python cloud/bench/intake_bench.py --db sqlite --events 20000 --runs 5
    .venv/bin/python cloud/bench/intake_bench.py --profile       # cProfile, one run

PostgreSQL is a private cluster started for the run (Debian's postgresql package), or the
server KENTONGAN_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB names.

A benchmark, not a test: no broker, no network, one process, so the figure is the ceiling of
one intake worker (classify, group commit, event acks). It uses the same Intake object the
worker runs, fed as the MQTT link feeds it, over a generated district of --gateways posts.
Figures are medians over --runs runs and are written to --out as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kentongan_cloud.clock import SystemClock
from kentongan_cloud.domain.sites import Directory, build_directory
from kentongan_cloud.intake.pipeline import Envelope, Intake
from kentongan_cloud.store.db import Database
from kentongan_protocol.payloads import Event
from kentongan_protocol.topics import Suffix, gateway_topic
from kentongan_testkit.bench.database import pg_server
from kentongan_testkit.bench.district import generate_district
from kentongan_testkit.bench.report import write_json

REPO = Path(__file__).resolve().parents[2]


def _payloads(directory: Directory, n: int, panic_every: int) -> list[tuple[str, bytes]]:
    """n events spread over every post: supervision events, with a panic every `panic_every`."""
    sites = sorted(directory.sites.values(), key=lambda s: s.gateway_id)
    seqs = dict.fromkeys((s.gateway_id for s in sites), 0)
    session = uuid.uuid4().hex
    boot = uuid.uuid4()
    out = []
    for i in range(n):
        site = sites[i % len(sites)]
        gid = site.gateway_id
        panic = panic_every > 0 and i % panic_every == 0
        ev = Event(
            event_id=uuid.uuid4(),
            session_id=session,
            boot_id=boot,
            seq=seqs[gid],
            monotonic_ms=i,
            occurred_at=datetime.now(UTC),
            clock_synced=True,
            source="button" if panic else "sensor",
            kind="panic" if panic else "battery_low",
            input="tombol_kebakaran" if panic else "aki_lemah",
            incident_type="kebakaran" if panic else None,
            status="actual",
        )
        seqs[gid] += 1
        out.append((gateway_topic(directory.district_id, gid, Suffix.EVENT), ev.encode()))
    return out


async def _database(kind: str, work: Path) -> tuple[Database, str | None]:
    if kind == "sqlite":
        return Database(f"sqlite+aiosqlite:///{work / 'bench.sqlite3'}"), None
    name = pg_server().create_database(f"kentongan_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    return Database(pg_server().url(name)), name


async def _drop_pg(name: str) -> None:
    pg_server().drop_database(name)


async def one_run(kind: str, directory: Directory, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db, pg_name = await _database(kind, Path(tmp))
        try:
            await db.create_schema()
            async with db.transaction() as tx:
                await tx.fleet.sync(directory, directory.sites.keys())
            acks: list[tuple[str, bytes]] = []
            intake = Intake(
                db,
                directory,
                SystemClock(),
                command_expiry_s=60,
                heartbeat_factor=3.0,
                max_batch=args.batch,
                publish=lambda t, p: acks.append((t, p)),
            )
            msgs = _payloads(directory, args.events, args.panic_every)
            envs = [Envelope(t, p) for t, p in msgs]
            t0 = time.perf_counter()
            for i in range(0, len(envs), args.batch):
                await intake.handle(envs[i : i + args.batch])
            bulk_s = time.perf_counter() - t0
            # One message at a time: the latency of a lone press on a quiet line.
            singles = [Envelope(t, p) for t, p in _payloads(directory, args.singles, 1)]
            lone = []
            for env in singles:
                t1 = time.perf_counter()
                await intake.handle([env])
                lone.append(time.perf_counter() - t1)
            async with db.transaction() as tx:
                stored = await tx.intake.count_events()
        finally:
            await db.close()
            if pg_name:
                await _drop_pg(pg_name)
    expected = args.events + args.singles
    if stored != expected or intake.stats.committed != expected:
        msg = f"{kind}: {stored} rows, {intake.stats.committed} committed, {expected} sent"
        raise SystemExit(msg)
    return {
        "events_per_s": args.events / bulk_s,
        "lone_commit_p50_ms": statistics.median(lone) * 1000,
        "lone_commit_max_ms": max(lone) * 1000,
        "acks_published": float(len(acks)),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        prov = generate_district(REPO / "firmware_configs", Path(tmp) / "district", args.gateways)
        directory = build_directory(prov)
    result: dict[str, Any] = {
        "gateways": args.gateways,
        "events_per_run": args.events,
        "batch": args.batch,
        "panic_every": args.panic_every,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "databases": {},
    }
    for kind in args.db:
        runs = []
        for r in range(args.runs):
            fig = await one_run(kind, directory, args)
            runs.append(fig)
            print(
                f"{kind} run {r + 1}/{args.runs}: {fig['events_per_s']:.0f} events/s in batches "
                f"of {args.batch}; a lone event commits in {fig['lone_commit_p50_ms']:.1f} ms "
                f"(p50)",
                flush=True,
            )
        med = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
        result["databases"][kind] = {"median": med, "runs": runs}
        print(
            f"{kind}: median {med['events_per_s']:.0f} events/s, lone commit "
            f"{med['lone_commit_p50_ms']:.1f} ms",
            flush=True,
        )
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    dbs = ["sqlite", "postgresql"]
    p.add_argument("--db", nargs="+", choices=dbs, default=dbs)
    p.add_argument("--gateways", type=int, default=2000, help="posts in the generated district")
    p.add_argument("--events", type=int, default=20000, help="events per run")
    p.add_argument("--batch", type=int, default=500, help="messages per commit (intake max_batch)")
    p.add_argument("--panic-every", type=int, default=50, help="every Nth event is a panic")
    p.add_argument("--singles", type=int, default=200, help="lone events for the latency figure")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profile", action="store_true", help="one run under cProfile")
    p.add_argument("--out", type=Path, default=REPO / "bench-results" / "intake-bench.json")
    args = p.parse_args(argv)
    if args.profile:
        args.runs = 1
        prof = cProfile.Profile()
        prof.runcall(asyncio.run, main_async(args))
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        return 0
    result = asyncio.run(main_async(args))
    write_json(args.out, result)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
