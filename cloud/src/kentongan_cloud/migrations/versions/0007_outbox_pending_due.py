"""Outbox: claims walk an index of the pending rows only, due first.

The index of due rows by kind (0005) kept every row, delivered or not. PostgreSQL read it
with bitmap scans, which never mark the entries of rows delivered since as dead, so every
claim re-read all the rows delivered since the last vacuum; with statistics that said many
rows were pending it walked the primary key through every delivered row instead. Both grew
minute by minute at 1,000 events/s. A partial index of the pending rows ordered by
(next_attempt_at, id), which no other index can stand in for, is read by an ordered scan
that stops at the batch size and skips the dead entries it has met once.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_PENDING = "delivered_at IS NULL AND voided_at IS NULL AND failed_at IS NULL"
_DUE = ["kind", "delivered_at", "voided_at", "failed_at", "next_attempt_at"]


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index(
        "ix_outbox_pending_due",
        "outbox",
        ["next_attempt_at", "id", "kind"],
        unique=False,
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_due", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", _DUE, unique=False)
