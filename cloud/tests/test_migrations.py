"""Alembic migrations on an empty SQLite file and an empty PostgreSQL database: head matches
the tables the code declares, downgrade and upgrade again work, and a database made by
`create_all` before migrations existed is adopted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from kentongan_cloud.errors import MigrationError
from kentongan_cloud.records import UserRecord
from kentongan_cloud.store import migrate
from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.db import Database
from sqlalchemy import Column, Integer, MetaData, Table, inspect, text
from sqlalchemy.engine import Connection

T = TypeVar("T")
NOW = datetime(2025, 1, 1, tzinfo=UTC)
HEAD = ScriptDirectory.from_config(migrate.config()).get_current_head()


def run(db_url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def go() -> T:
        db = Database(db_url)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(go())


def differences(db: Database, target: MetaData = metadata) -> Awaitable[list[Any]]:
    def compare(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, target))

    async def go() -> list[Any]:
        async with db.engine.connect() as conn:
            return await conn.run_sync(compare)

    return go()


def tables(db: Database) -> Awaitable[set[str]]:
    async def go() -> set[str]:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))

    return go()


def test_head_on_an_empty_database_matches_the_declared_tables(db_url: str) -> None:
    async def work(db: Database) -> tuple[str | None, list[Any]]:
        await db.migrate()
        await db.migrate()  # a second start finds nothing to do
        return await db.revision(), await differences(db)

    revision, diff = run(db_url, work)
    assert revision == HEAD
    assert diff == [], f"tables differ from the migrations; add a revision: {diff}"


def test_the_comparison_notices_a_table_without_a_migration(db_url: str) -> None:
    """The check above can fail: a table declared in code but not migrated shows up."""
    extra = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))

    async def work(db: Database) -> list[Any]:
        await db.migrate()
        return await differences(db, extra)

    diff = run(db_url, work)
    assert [(d[0], d[1].name) for d in diff] == [("add_table", "not_migrated")]


def test_downgrade_to_base_and_upgrade_again_keeps_accounts_until_their_table_goes(
    db_url: str,
) -> None:
    async def work(db: Database) -> tuple[set[str], UserRecord | None, set[str], list[Any]]:
        await db.migrate()
        async with db.transaction() as tx:
            await tx.users.upsert(UserRecord("ani", "x", "responder", None, True, "pmk"), NOW)
            await tx.users.add_session("t" * 64, "ani", "c", NOW, NOW)
        await db.downgrade(migrate.BASELINE)  # drops users.agency_id (a batch ALTER)
        async with db.transaction() as tx:
            kept = await tx.conn.execute(text("SELECT username, role FROM users"))
            assert [tuple(r) for r in kept] == [("ani", "responder")]
        await db.downgrade("base")
        at_base = await tables(db)
        await db.migrate()
        async with db.transaction() as tx:
            user = await tx.users.get("ani")
        return at_base, user, await tables(db), await differences(db)

    at_base, user, at_head, diff = run(db_url, work)
    assert at_base <= {"alembic_version"}
    assert user is None
    assert set(metadata.tables) <= at_head
    assert diff == []


def test_a_database_made_before_migrations_is_stamped_and_upgraded(db_url: str) -> None:
    async def work(db: Database) -> tuple[str | None, UserRecord | None, list[Any]]:
        # What `create_all` made before Alembic: the first revision, no version table.
        await db.migrate(migrate.BASELINE)
        await db.execute_sql("DROP TABLE alembic_version")
        await db.execute_sql(
            "INSERT INTO users (username, password_hash, role, active, created_at) "
            "VALUES ('budi', 'x', 'operator', true, '2025-01-01 00:00:00')"
        )
        assert await db.revision() is None
        await db.migrate()
        async with db.transaction() as tx:
            user = await tx.users.get("budi")
        return await db.revision(), user, await differences(db)

    revision, user, diff = run(db_url, work)
    assert revision == HEAD
    assert user == UserRecord("budi", "x", "operator", None, True, None)
    assert diff == []


def test_create_schema_is_stamped_at_head(db_url: str) -> None:
    async def work(db: Database) -> tuple[str | None, list[Any]]:
        await db.create_schema()
        await db.migrate()
        return await db.revision(), await differences(db)

    assert run(db_url, work) == (HEAD, [])


def test_an_unknown_target_is_refused_with_its_name(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    with pytest.raises(MigrationError, match="upgrade to '9999' refused"):
        run(url, lambda db: db.migrate("9999"))
