"""The durable outbox: kept until the cloud acknowledges, bounded with a shedding order that
never drops a panic, and intact after a real kill -9 mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from kentongan_edge.events import EventFactory
from kentongan_edge.outbox import DEFAULT_CAPACITY, Outbox, Priority
from kentongan_edge.storage import open_database
from kentongan_protocol.payloads import Event, EventKind


def factory() -> EventFactory:
    return EventFactory(
        session_id=uuid.uuid4().hex,
        boot_id=uuid.uuid4(),
        clock_synced=lambda: False,
        test_mode=lambda: False,
    )


def event(f: EventFactory, kind: EventKind = "panic") -> Event:
    itype = "kebakaran" if kind in ("panic", "sensor_triggered", "level_high") else None
    return f.make(kind, "tombol_kebakaran", incident_type=itype)


def open_outbox(path: Path, capacity: int = DEFAULT_CAPACITY) -> Outbox:
    return Outbox(open_database(path), capacity=capacity)


def test_wal_and_full_sync(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "o.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    ob = Outbox(conn)
    assert ob.capacity >= 100_000
    e = event(factory())
    ob.add_event(e)
    ob.acknowledge([str(e.event_id)])  # deletions commit without their own fsync...
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # ...then FULL again


def test_events_stay_until_acknowledged(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db")
    f = factory()
    a, b = event(f), event(f, "duty_check_in")
    row_a = ob.add_event(a).row
    ob.add_event(b)
    assert row_a is not None
    assert row_a.payload == a.encode()
    assert ob.event_ids() == {str(a.event_id), str(b.event_id)}
    assert ob.acknowledge([str(a.event_id), str(uuid.uuid4())]) == [row_a.id]
    ob.close()
    again = open_outbox(tmp_path / "o.db")
    assert again.event_ids() == {str(b.event_id)}
    assert again.depth == 1


def test_shedding_order_and_counter(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db", capacity=4)
    f = factory()
    t1 = ob.add_telemetry(b"{}", session_id=f.session_id, monotonic_ms=1).row
    duty = ob.add_event(event(f, "duty_check_in")).row
    p1 = ob.add_event(event(f)).row
    p2 = ob.add_event(event(f)).row
    assert t1 is not None
    assert duty is not None
    assert p1 is not None
    assert p2 is not None
    # Full. A new telemetry row displaces the oldest telemetry.
    added = ob.add_telemetry(b"{}", session_id=f.session_id, monotonic_ms=2)
    assert added.shed == [t1.id]
    # A panic displaces telemetry first, then the ordinary event.
    assert ob.add_event(event(f)).shed == [added.row.id if added.row else -1]
    assert ob.add_event(event(f)).shed == [duty.id]
    # Full of panics: telemetry and ordinary events are refused and counted...
    assert ob.add_telemetry(b"{}", session_id=f.session_id, monotonic_ms=3).row is None
    assert ob.add_event(event(f, "mains_lost")).row is None
    # ...and a panic is still kept, past the bound.
    assert ob.add_event(event(f)).row is not None
    assert ob.depth == 5
    assert ob.shed_count == 5
    ob.close()
    assert open_outbox(tmp_path / "o.db").shed_count == 5


def test_priorities() -> None:
    assert Priority.KEEP < Priority.EVENT < Priority.TELEMETRY


WRITER = """
import sys, uuid
from pathlib import Path
from kentongan_edge.events import EventFactory
from kentongan_edge.outbox import Outbox
from kentongan_edge.storage import open_database
ob = Outbox(open_database(Path(sys.argv[1])))
f = EventFactory(session_id=uuid.uuid4().hex, boot_id=uuid.uuid4(),
                 clock_synced=lambda: False, test_mode=lambda: False)
while True:
    e = f.make("panic", "tombol", incident_type="kebakaran")
    ob.add_event(e)
    print(e.event_id, flush=True)  # only after the commit returned
"""


def test_survives_kill_9_mid_write(tmp_path: Path) -> None:
    db = tmp_path / "outbox.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    committed = []
    for line in proc.stdout:
        committed.append(line.strip())
        if len(committed) == 300:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # Lines the writer printed before it died are commits that returned too (the pipe
    # holds them); a line cut short by the kill is not counted.
    committed += [w for w in proc.stdout.read().split() if len(w) == 36]
    ob = open_outbox(db)
    conn = open_database(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Every event whose commit returned is there (one more may be, written as it died).
    assert set(committed) <= ob.event_ids()
    assert ob.depth in (len(committed), len(committed) + 1)


def test_scan_in_insertion_order(tmp_path: Path) -> None:
    ob = Outbox(open_database(tmp_path / "o.db", synchronous="OFF"))
    f = factory()
    ids = []
    for i in range(1200):
        e = event(f, "sensor_cleared" if i % 2 else "panic")
        ob.add_event(e)
        ids.append(e.event_id)
    seen, after = [], 0
    while rows := ob.scan(0, after_id=after, limit=500):
        seen += [r.event_id for r in rows]
        after = rows[-1].id
    assert seen == [str(i) for i in ids]
