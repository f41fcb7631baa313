"""Technicians told about a post's equipment, one row per outbox key and person.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fleet_alert_sends",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("channel_type", sa.String(length=16), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "person_id", name=op.f("pk_fleet_alert_sends")),
    )
    op.create_index(
        op.f("ix_fleet_alert_sends_gateway_id"), "fleet_alert_sends", ["gateway_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_fleet_alert_sends_gateway_id"), table_name="fleet_alert_sends")
    op.drop_table("fleet_alert_sends")
