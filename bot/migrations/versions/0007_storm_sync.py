"""alert storms: due work with a lease, and one open storm per channel

Revision ID: 0007_storm_sync
Revises: 0006_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0007_storm_sync"
down_revision = "0006_reports"
branch_labels = None
depends_on = None

OPEN = sa.text("ended_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("alert_storms") as batch_op:
        batch_op.add_column(sa.Column("sync_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("sync_claimed_until", bot.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sync_error", sa.String(length=64), nullable=True))
    with op.batch_alter_table("alert_storms") as batch_op:
        batch_op.alter_column("sync_attempts", server_default=None)
    # Before the index, a channel could have two open storms (two replicas opening one each): keep the
    # newest open, end the others where their last alert came.
    op.execute("UPDATE alert_storms SET ended_at = last_added_at WHERE ended_at IS NULL AND id NOT IN "
               "(SELECT max(id) FROM alert_storms WHERE ended_at IS NULL GROUP BY channel)")
    op.create_index("uq_alert_storms_open_channel", "alert_storms", ["channel"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("uq_alert_storms_open_channel", table_name="alert_storms")
    with op.batch_alter_table("alert_storms") as batch_op:
        batch_op.drop_column("sync_error")
        batch_op.drop_column("sync_claimed_until")
        batch_op.drop_column("sync_attempts")
