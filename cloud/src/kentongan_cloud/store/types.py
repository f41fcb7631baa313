"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python; timestamptz on PostgreSQL, naive UTC text on SQLite
    (which sorts and compares correctly because every value is UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to the store; use timezone-aware UTC"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            msg = f"expected a datetime from the database, got {type(value).__name__}"
            raise TypeError(msg)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def sqlite_text(value: datetime | None) -> str | None:
    """The text SQLite holds for a UTC timestamp, exactly as `UtcDateTime` and SQLAlchemy's
    SQLite DATETIME store it (naive UTC, microseconds always), in one step instead of their
    two: `store.bulk` runs it for every timestamp of every row of an intake batch."""
    if value is None:
        return None
    if value.tzinfo is None:
        msg = "naive datetime given to the store; use timezone-aware UTC"
        raise ValueError(msg)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def row_of(record: Any) -> dict[str, Any]:
    """A dataclass record as column values; shallow, unlike `dataclasses.asdict` (which deep
    copies and costs more than the insert itself)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}
