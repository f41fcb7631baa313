"""Every PostgreSQL query of the committed dashboards, on the session's real PostgreSQL.

A throw-away database gets the contract relations (dashboards/postgres/contract.sql) as
tables with a few posts and incidents; each panel's SQL, with Grafana's macros filled in,
must return exactly the rows below. The cloud core provides the same relations as views.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from kentongan_cloud.grafana.dashboards.queries import POSTGRES_UID
from kentongan_testkit.dashboards import REPO, Target, fill_sql, targets
from kentongan_testkit.pgserver import PgServer

CONTRACT = REPO / "dashboards" / "postgres" / "contract.sql"
START = datetime(2024, 3, 10, 17, 0, tzinfo=UTC)
END = datetime(2024, 3, 12, 16, 59, 59, 999000, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


POSTS = [
    (
        "tb-poncowati-01",
        "Pos Kamling RT 05 Kampung Poncowati",
        "lamteng",
        "terbanggi-besar",
        "Terbanggi Besar",
        "poncowati",
        "Poncowati",
        -4.9013,
        105.2338,
        True,
        utc(12, 16, 59),
        True,
    ),
    (
        "tb-adi-jaya-01",
        "Pos Ronda Adi Jaya",
        "lamteng",
        "terbanggi-besar",
        "Terbanggi Besar",
        "adi-jaya",
        "Adi Jaya",
        -4.945,
        105.245,
        False,
        utc(12, 12, 59),
        False,
    ),
    (
        "pg-toto-katon-01",
        "Pos Kamling Toto Katon",
        "lamteng",
        "punggur",
        "Punggur",
        "toto-katon",
        "Toto Katon",
        -5.025,
        105.305,
        True,
        utc(12, 16, 58),
        True,
    ),
]
TB = ("lamteng", "terbanggi-besar", "Terbanggi Besar")
PG = ("lamteng", "punggur", "Punggur")
I3_AT, I8_AT, I4_AT = utc(11, 2), utc(12, 16), utc(12, 5)
INCIDENTS = [
    # id, type, label, state, status, source, confirmed, district, kec, kec name,
    # kampung, kampung name, gateway, post, lat, lon, opened, acked, dispatched, closed, level
    (
        "i1",
        "pencurian",
        "Pencurian",
        "resolved",
        "actual",
        "button",
        False,
        *TB,
        "poncowati",
        "Poncowati",
        "tb-poncowati-01",
        "Pos Kamling RT 05 Kampung Poncowati",
        -4.9013,
        105.2338,
        utc(11, 16, 30),
        utc(11, 16, 31),
        utc(11, 16, 35),
        utc(11, 17),
        0,
    ),
    (
        "i3",
        "pencurian",
        "Pencurian",
        "acknowledged",
        "actual",
        "web",
        False,
        *PG,
        "mojopahit",
        "Mojopahit",
        None,
        None,
        -5.02,
        105.345,
        I3_AT,
        utc(11, 2, 15),
        None,
        None,
        2,
    ),
    (
        "i4",
        "darurat_medis",
        "Darurat medis",
        "resolved",
        "actual",
        "button",
        False,
        *TB,
        "adi-jaya",
        "Adi Jaya",
        "tb-adi-jaya-01",
        "Pos Ronda Adi Jaya",
        -4.945,
        105.245,
        I4_AT,
        utc(12, 5, 1),
        None,
        utc(12, 5, 10),
        1,
    ),
    (
        "i5",
        "kebakaran",
        "Kebakaran",
        "acknowledged",
        "exercise",
        "button",
        False,
        *TB,
        "poncowati",
        "Poncowati",
        "tb-poncowati-01",
        "Pos Kamling RT 05 Kampung Poncowati",
        -4.9013,
        105.2338,
        utc(11, 3),
        utc(11, 3, 1),
        None,
        None,
        1,
    ),
    (
        "i8",
        "kebakaran",
        "Kebakaran",
        "new",
        "actual",
        "button",
        True,
        *PG,
        "toto-katon",
        "Toto Katon",
        "pg-toto-katon-01",
        "Pos Kamling Toto Katon",
        -5.025,
        105.305,
        I8_AT,
        None,
        None,
        None,
        0,
    ),
    (
        "i9",
        "pencurian",
        "Pencurian",
        "resolved",
        "actual",
        "button",
        False,
        *PG,
        "toto-katon",
        "Toto Katon",
        "pg-toto-katon-01",
        "Pos Kamling Toto Katon",
        -5.025,
        105.305,
        utc(9, 1),
        utc(9, 1, 20),
        None,
        utc(9, 2),
        1,
    ),
]

PK, KP, AR = "kentongan-pusat-komando", "kentongan-kesehatan-perangkat", "kentongan-aktivitas-ronda"
EXPECTED: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {
    (PK, "Insiden terbuka", "A"): [(2,)],
    (PK, "Insiden terbuka tereskalasi", "A"): [(1,)],
    (PK, "Pos offline", "A"): [(1,)],
    (PK, "Peta pos dan insiden terbuka", "A"): [
        ("pg-toto-katon-01", "Pos Kamling Toto Katon", "Punggur", "Toto Katon", -5.025, 105.305, 1),
        ("tb-adi-jaya-01", "Pos Ronda Adi Jaya", "Terbanggi Besar", "Adi Jaya", -4.945, 105.245, 0),
        (
            "tb-poncowati-01",
            "Pos Kamling RT 05 Kampung Poncowati",
            "Terbanggi Besar",
            "Poncowati",
            -4.9013,
            105.2338,
            1,
        ),
    ],
    (PK, "Peta pos dan insiden terbuka", "B"): [
        ("i3", "Pencurian", "acknowledged", "Mojopahit", None, -5.02, 105.345, I3_AT, 2),
        (
            "i8",
            "Kebakaran",
            "new",
            "Toto Katon",
            "Pos Kamling Toto Katon",
            -5.025,
            105.305,
            I8_AT,
            0,
        ),
    ],
    (PK, "Insiden terbuka (daftar)", "A"): [
        (I3_AT, "Pencurian", "acknowledged", "Punggur", "Mojopahit", "laporan warga", 2, False),
        (I8_AT, "Kebakaran", "new", "Punggur", "Toto Katon", "Pos Kamling Toto Katon", 0, True),
    ],
    (PK, "Insiden tereskalasi dalam rentang waktu", "A"): [
        (I4_AT, "Darurat medis", "Terbanggi Besar", "Adi Jaya", "resolved", 1),
        (I3_AT, "Pencurian", "Punggur", "Mojopahit", "acknowledged", 2),
    ],
    (KP, "Pos online", "A"): [(2,)],
    (KP, "Pos offline", "A"): [(1,)],
    (KP, "Daftar pos", "A"): [
        (
            "tb-adi-jaya-01",
            "Pos Ronda Adi Jaya",
            "Terbanggi Besar",
            "Adi Jaya",
            False,
            utc(12, 12, 59),
        ),
        (
            "pg-toto-katon-01",
            "Pos Kamling Toto Katon",
            "Punggur",
            "Toto Katon",
            True,
            utc(12, 16, 58),
        ),
        (
            "tb-poncowati-01",
            "Pos Kamling RT 05 Kampung Poncowati",
            "Terbanggi Besar",
            "Poncowati",
            True,
            utc(12, 16, 59),
        ),
    ],
    (AR, "Pos dijaga sekarang", "A"): [(2,)],
}

SQL_TARGETS = [t for t in targets() if t.datasource == POSTGRES_UID]


@pytest.fixture(scope="module")
def database(postgres_server: PgServer) -> Iterator[str]:
    """A throw-away database with the contract relations filled; dropped afterwards."""
    name = postgres_server.create_database(f"kentongan_grafana_{secrets.token_hex(4)}")
    dsn = postgres_server.dsn(name)
    try:
        with psycopg.connect(dsn) as conn:
            conn.execute(CONTRACT.read_text())
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO grafana_posts VALUES ({', '.join(['%s'] * 12)})",  # noqa: S608
                    POSTS,
                )
                cur.executemany(
                    f"INSERT INTO grafana_incidents VALUES ({', '.join(['%s'] * 21)})",  # noqa: S608
                    INCIDENTS,
                )
        yield dsn
    finally:
        postgres_server.drop_database(name)


def test_every_sql_query_has_an_expected_result() -> None:
    assert sorted(t.key for t in SQL_TARGETS) == sorted(EXPECTED)


@pytest.mark.parametrize("target", SQL_TARGETS, ids=lambda t: f"{t.dashboard}:{t.panel}:{t.ref_id}")
def test_the_query_returns_exactly_the_expected_rows(database: str, target: Target) -> None:
    with psycopg.connect(database) as conn:
        rows = conn.execute(fill_sql(target.text, START, END)).fetchall()
    assert rows == EXPECTED[target.key]
