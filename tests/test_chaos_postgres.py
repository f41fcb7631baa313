"""Chaos: a private PostgreSQL (initdb in a temporary directory, a free port, run as the
postgres user) is killed with `pg_ctl stop -m immediate` (a crash, no checkpoint) and started
again in the middle of a burst of panics. The session's shared cluster is never touched. Every panic
ends as exactly one incident, each notice once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kentongan_cloud.clock import ManualClock
from kentongan_edge.virtual import VirtualFleet
from kentongan_protocol.payloads import Event
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import Recorders
from kentongan_testkit.pgserver import PrivatePostgres

from tests.test_chaos_broker import BURST, add_posts, at_least, events_of, panic, until


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    """A cluster of its own: the session's shared one must not be crashed."""
    with PrivatePostgres() as pg:
        yield pg


@pytest.fixture
def db_url(private_pg: PrivatePostgres) -> str:
    return private_pg.server.url()


@pytest.fixture
def fleet() -> Iterator[VirtualFleet]:
    with VirtualFleet() as f:
        yield f


def test_postgres_crash_restart_mid_burst_one_incident_per_panic(
    cloud: CloudFactory,
    private_pg: PrivatePostgres,
    fleet: VirtualFleet,
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    tmp_path: Path,
) -> None:
    clock = ManualClock(datetime.now(UTC))
    rec = Recorders()
    h = cloud.start(clock=clock, recorders=rec)
    posts = add_posts(fleet, provisioning, secrets_store, broker.port, tmp_path, BURST)
    pressed: dict[str, Event] = {}
    half = len(BURST) // 2
    for name in BURST[:half]:
        pressed[name] = panic(posts[name])
    private_pg.crash_restart()  # mid-burst: connections die, uncommitted work is gone
    for name in BURST[half:]:
        pressed[name] = panic(posts[name])
    for p in posts.values():
        assert p.wait_drained(120), f"{p.gateway_id} kept events after PostgreSQL came back"
    got = until(at_least(h, len(BURST)), "one incident per panic")
    assert sorted(i.gateway_id or "" for i in got) == sorted(BURST)
    for inc in got:
        assert inc.count == 1, inc
        [ev] = events_of(h, inc.id)
        assert ev.event_id == str(pressed[inc.gateway_id or ""].event_id)
    clock.advance(31)
    until(lambda: len(rec.notifier.notices) >= len(BURST), "one notice per incident")
    assert sorted(n.incident_id for n in rec.notifier.notices.values()) == sorted(i.id for i in got)
