"""The tests' PostgreSQL: a private cluster per session, an external one by URL, and a clear
failure (never a skip) when the server binaries are missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kentongan_testkit import pgserver
from kentongan_testkit.pgserver import (
    ENV_VAR,
    PgServer,
    PostgresUnavailableError,
    server_binaries,
)

pytest_plugins = ["pytester"]


def test_external_server_url_keeps_credentials_and_names_the_admin_database() -> None:
    s = PgServer.from_url("postgresql://ci:s3cret@db.internal:6543/admin")
    assert s.dsn() == "postgresql://ci:s3cret@db.internal:6543/admin"
    assert s.url("kentongan_x") == "postgresql+psycopg://ci:s3cret@db.internal:6543/kentongan_x"
    assert PgServer.from_url("postgres://ci@db.internal:6543").dsn("d") == (
        "postgresql://ci@db.internal:6543/d"
    )


@pytest.mark.parametrize("bad", ["mysql://u@h:1/d", "db.internal:5433", "postgresql:///x"])
def test_external_server_url_that_is_not_postgresql_is_refused_naming_the_variable(
    bad: str,
) -> None:
    with pytest.raises(PostgresUnavailableError, match=ENV_VAR):
        PgServer.from_url(bad)


def test_newest_major_version_is_used(tmp_path: Path) -> None:
    for major in ("9", "15", "13"):
        tool = tmp_path / major / "bin" / "initdb"
        tool.parent.mkdir(parents=True)
        tool.touch()
    assert server_binaries(tmp_path) == tmp_path / "15" / "bin"


def test_missing_binaries_say_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailableError, match="apt-get install postgresql"):
        server_binaries(tmp_path)


def test_session_fixture_fails_not_skips_without_binaries(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(pgserver, "PG_ROOT", pytester.path / "no-postgresql")
    pytester.makepyfile("def test_needs_pg(postgres_server):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*apt-get install postgresql*bootstrap.sh*"])


def test_session_server_is_private_and_durable(postgres_server: PgServer) -> None:
    with postgres_server.connect() as conn:
        row = conn.execute(
            "SELECT current_setting('fsync'), current_setting('data_directory')"
        ).fetchone()
    assert row is not None
    assert row[0] == "on"  # the crash test relies on real durability
    if not os.environ.get(ENV_VAR):
        assert Path(row[1]).parent.name.startswith("kentongan-pg-"), row[1]
