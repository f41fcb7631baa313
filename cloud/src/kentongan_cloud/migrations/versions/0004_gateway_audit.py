"""What technicians and admins did to posts from the command centre (maintenance switches).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# UtcDateTime of the store: timestamptz on PostgreSQL, naive UTC on SQLite.
UTC_TS = sa.DateTime(timezone=True)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("command_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_audit")),
    )
    op.create_index(
        op.f("ix_gateway_audit_gateway_id"), "gateway_audit", ["gateway_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_gateway_audit_gateway_id"), table_name="gateway_audit")
    op.drop_table("gateway_audit")
