"""Alembic environment.

The cloud hands over its own connection (`Database.migrate`, inside its transaction and,
on PostgreSQL, its advisory lock). The `alembic` command (cloud/alembic.ini) connects to
the database of the settings instead: KENTONGAN_DATABASE__URL or the default SQLite file.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

import kentongan_cloud.store.db  # noqa: F401 - registers every table on the metadata
from kentongan_cloud.store.base import metadata
from kentongan_cloud.store.types import UtcDateTime


def render_item(kind: str, obj: object, _ctx: AutogenContext) -> str | Literal[False]:
    """Revisions stay free of the cloud's imports: UtcDateTime is a timezone DateTime."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection: Connection) -> None:
    # Batch mode: SQLite cannot ALTER most things, so later revisions recreate the table.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _from_settings() -> None:
    from kentongan_cloud.settings import load_settings  # noqa: PLC0415 - only for the CLI
    from kentongan_cloud.store.base import make_engine  # noqa: PLC0415

    settings = load_settings()
    if not settings.database.url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    msg = "offline (--sql) migrations are not supported; run against a database"
    raise SystemExit(msg)
given = context.config.attributes.get("connection")
if given is None:
    asyncio.run(_from_settings())
else:
    run(given)
