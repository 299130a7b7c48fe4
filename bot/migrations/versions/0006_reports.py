"""posted weekly summaries

Revision ID: 0006_reports
Revises: 0005_handoffs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0006_reports"
down_revision = "0005_handoffs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "weekly_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week_start", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("week_end", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_summaries")),
    )
    op.create_index("uq_weekly_summaries_week_start", "weekly_summaries", ["week_start"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_weekly_summaries_week_start", table_name="weekly_summaries")
    op.drop_table("weekly_summaries")
