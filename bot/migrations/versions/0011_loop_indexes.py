"""partial indexes for what the escalation runner and the dispatcher look for when idle

Revision ID: 0011_loop_indexes
Revises: 0010_monitors
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_loop_indexes"
down_revision = "0010_monitors"
branch_labels = None
depends_on = None

SNOOZED = sa.text("snoozed_until IS NOT NULL")
UNSYNCED = sa.text("version > posted_version")


def upgrade() -> None:
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.create_index("ix_alert_groups_snoozed", ["snoozed_until"], unique=False,
                              sqlite_where=SNOOZED, postgresql_where=SNOOZED)
        batch_op.create_index("ix_alert_groups_unsynced", ["id"], unique=False,
                              sqlite_where=UNSYNCED, postgresql_where=UNSYNCED)


def downgrade() -> None:
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_groups_unsynced")
        batch_op.drop_index("ix_alert_groups_snoozed")
