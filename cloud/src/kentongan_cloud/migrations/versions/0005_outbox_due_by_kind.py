"""Outbox: the index of due rows leads with the kind.

A claim asks for due rows of the kinds its worker delivers; rows of other kinds (points
when no InfluxDB is configured, say) piled up in front of them in the old index.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OLD = ["delivered_at", "voided_at", "failed_at", "next_attempt_at"]


def upgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["kind", *_OLD], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", _OLD, unique=False)
