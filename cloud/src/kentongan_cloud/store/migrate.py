"""Schema migrations with Alembic, run on a connection the caller already holds.

The revisions live in `kentongan_cloud/migrations` (package data). A database made by
`metadata.create_all` before migrations existed has the tables of the first revision and no
`alembic_version`: it is stamped at that revision and then upgraded like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from kentongan_cloud.errors import MigrationError

BASELINE = "0001"
"""The revision whose tables `create_all` made before migrations existed."""
HEAD = "head"


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("kentongan_cloud") / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current(connection: Connection) -> str | None:
    """The revision the database is at; None when Alembic never ran on it."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, target: str = HEAD) -> None:
    if current(connection) is None and inspect(connection).has_table("incidents"):
        _run(command.stamp, connection, BASELINE)
    _run(command.upgrade, connection, target)


def stamp(connection: Connection, target: str) -> None:
    _run(command.stamp, connection, target)


def downgrade(connection: Connection, target: str) -> None:
    _run(command.downgrade, connection, target)


def _run(step: Callable[[Config, str], None], connection: Connection, target: str) -> None:
    try:
        step(config(connection), target)
    except CommandError as exc:
        msg = f"schema {step.__name__} to {target!r} refused: {exc}"
        raise MigrationError(msg) from exc
