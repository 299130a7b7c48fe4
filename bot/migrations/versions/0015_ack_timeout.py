"""the acknowledgement timeout: when an acknowledged alert fires again unless resolved

Revision ID: 0015_ack_timeout
Revises: 0014_sms_opt_out
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0015_ack_timeout"
down_revision = "0014_sms_opt_out"
branch_labels = None
depends_on = None

ACK_TIMING = sa.text("ack_timeout_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_timeout_at", bot.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_alert_groups_ack_timeout", ["ack_timeout_at"], unique=False,
                              sqlite_where=ACK_TIMING, postgresql_where=ACK_TIMING)


def downgrade() -> None:
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_groups_ack_timeout")
        batch_op.drop_column("ack_timeout_at")
