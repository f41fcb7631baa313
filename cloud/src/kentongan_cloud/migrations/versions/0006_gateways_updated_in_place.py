"""Gateways: the row every event rewrites is rewritten in place on PostgreSQL.

Every event and heartbeat rewrites its gateway's row (last seen, heartbeat deadline). The
deadline was indexed, so PostgreSQL could never update the row on its own page (a HOT
update): each rewrite added entries to both indexes and left a dead row version for the
vacuum, 60,000 a minute at 1,000 events/s over 2,000 posts, and the intake slowed minute by
minute. Without that index, and with half of each page left free (fillfactor 50), the new
version goes beside the old one and is pruned as the page fills. The sweep finds overdue
gateways by reading the whole table: a few thousand rows every two seconds.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    op.drop_index("ix_gateways_deadline_at", table_name="gateways")
    if _postgresql():
        op.execute("ALTER TABLE gateways SET (fillfactor = 50)")


def downgrade() -> None:
    if _postgresql():
        op.execute("ALTER TABLE gateways RESET (fillfactor)")
    op.create_index("ix_gateways_deadline_at", "gateways", ["deadline_at"], unique=False)
