"""The dashboards' SQL on the core's real tables: the store creates `grafana_posts` and
`grafana_incidents` as views (dashboards/postgres/contract.sql column for column), and every
PostgreSQL panel query runs on incidents made through the real intake (Mosquitto, virtual
posts, the residents' form, an operator's acknowledgement)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kentongan_cloud.clock import ManualClock
from kentongan_cloud.grafana.dashboards.queries import POSTGRES_UID
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import Recorders, VirtualPost
from kentongan_testkit.dashboards import REPO, fill_sql, targets
from kentongan_testkit.pgserver import PgServer
from kentongan_testkit.plugin import ClientFactory

from tests.test_cloud_incidents import operator_token
from tests.test_cloud_intake import acked_ids
from tests.test_cloud_wiring import (
    CC_SECRET,
    PUBLIC,
    CommandCentreSystem,
    cc_system,  # noqa: F401 - fixture
    provisioning,  # noqa: F401 - fixture: the command centre's webhook on cc_system
)

CONTRACT = REPO / "dashboards" / "postgres" / "contract.sql"
DISTRICT = "lamteng"


@pytest.fixture
def db_url(postgres_server: PgServer, postgres_database: str) -> str:
    """PostgreSQL only: Grafana's incident datasource."""
    with postgres_server.connect(postgres_database) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("DROP SCHEMA IF EXISTS contract CASCADE")
    return postgres_server.url(postgres_database)


def _columns(conn: Any, schema: str, relation: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, relation),
    ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def test_every_dashboard_query_runs_on_the_real_tables(
    cloud: CloudFactory,
    mqtt_client: ClientFactory,
    postgres_server: PgServer,
    postgres_database: str,
) -> None:
    h = cloud.start(recorders=Recorders())
    posts = {}
    for gid in ("tb-poncowati-01", "pg-toto-katon-01"):
        posts[gid] = VirtualPost(mqtt_client(gid), DISTRICT, gid)
        posts[gid].listen()
        posts[gid].state("online")
    posts["tb-poncowati-01"].press()
    posts["pg-toto-katon-01"].press(incident_type="kebakaran", input="tombol_kebakaran")
    for p in posts.values():
        acked_ids(p, 1)
    r = h.api(
        "POST", "/api/v1/reports", json={"incident_type": "kebakaran", "kampung": "mojopahit"}
    )
    assert r.status_code == 201, r.text
    op = operator_token(h)
    listed = h.api("GET", "/api/v1/incidents", token=op).json()
    assert len(listed) == 3
    theft = next(i for i in listed if i["incident_type"] == "pencurian")
    r = h.api("POST", f"/api/v1/incidents/{theft['id']}/acknowledge", token=op, json={})
    assert r.status_code == 200, r.text

    with postgres_server.connect(postgres_database) as conn:
        # The views have the contract's columns, names, order and types.
        conn.execute("CREATE SCHEMA contract")
        conn.execute("SET search_path TO contract")
        conn.execute(CONTRACT.read_text(encoding="utf-8"))
        conn.execute("SET search_path TO public")
        for rel in ("grafana_posts", "grafana_incidents"):
            assert _columns(conn, "public", rel) == _columns(conn, "contract", rel), rel

        rows = conn.execute(
            "SELECT incident_type, type_label, state, source, kampung_name, gateway_id, "
            "post_name, acknowledged_at IS NOT NULL, escalation_level "
            "FROM grafana_incidents ORDER BY incident_type, source"
        ).fetchall()
        assert [r[:4] for r in rows] == [
            ("kebakaran", "Kebakaran", "new", "button"),
            ("kebakaran", "Kebakaran", "new", "web"),
            ("pencurian", "Pencurian / maling", "acknowledged", "button"),
        ]
        web = rows[1]
        assert (web[4], web[5], web[6]) == ("Mojopahit", None, None)
        assert rows[2][7] is True
        assert {r[8] for r in rows} == {0}
        online: dict[str, bool] = dict(
            conn.execute("SELECT gateway_id, online FROM grafana_posts").fetchall()
        )
        assert len(online) == len(h.runtime.directory.sites)
        assert online["tb-poncowati-01"] is True

        # Every PostgreSQL panel query, with Grafana's macros filled in for the last day.
        now = datetime.now(UTC)
        ran = 0
        for t in targets():
            if t.datasource != POSTGRES_UID:
                continue
            sql = fill_sql(t.text, now - timedelta(days=1), now + timedelta(minutes=1))
            result = conn.execute(sql).fetchall()
            ran += 1
            if t.panel == "Insiden terbuka":
                assert result == [(3,)], t.key
            if t.panel == "Insiden terbuka (daftar)":
                assert len(result) == 3, t.key
            if re.search(r"Peta", t.panel) and t.ref_id == "A":
                assert len(result) >= len(online) - 1, t.key
        assert ran >= 5


def test_escalation_level_follows_the_responders_ladders(
    cloud: CloudFactory,
    mqtt_client: ClientFactory,
    postgres_server: PgServer,
    postgres_database: str,
    cc_system: tuple[CommandCentreSystem, str],  # noqa: F811 - the imported fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KENTONGAN_WEBHOOK_CC", CC_SECRET)
    clock = ManualClock()
    h = cloud.start(clock=clock, real_sinks=True, responders={"public_url": PUBLIC})
    post = VirtualPost(mqtt_client("tb-poncowati-01"), DISTRICT, "tb-poncowati-01")
    post.listen()
    post.press()
    acked_ids(post, 1)

    def level() -> int | None:
        with postgres_server.connect(postgres_database) as conn:
            row = conn.execute("SELECT escalation_level FROM grafana_incidents").fetchone()
        return None if row is None else int(row[0])

    assert level() == 0
    clock.advance(31)  # past the cancel window: the agencies are paged
    h.wait_for(lambda: cc_system[0].received, timeout=20, what="the first alert")
    assert level() == 0
    timeout_s = h.runtime.provisioning.district.escalation.ack_timeout_s
    clock.advance(timeout_s + 1)  # nobody answered: each ladder's next person
    h.wait_for(lambda: level() == 1, what="escalation to the next person")
    for _ in range(2):  # the ladders run out: the command centre is paged
        clock.advance(timeout_s + 1)
        time.sleep(1.5)
    h.wait_for(lambda: level() == 2, what="escalation to the command centre")
