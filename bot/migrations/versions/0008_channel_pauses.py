"""Slack rate limits per channel, shared by every replica

Revision ID: 0008_channel_pauses
Revises: 0007_storm_sync
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0008_channel_pauses"
down_revision = "0007_storm_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_channel_pauses",
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("until", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_slack_channel_pauses")),
    )


def downgrade() -> None:
    op.drop_table("slack_channel_pauses")
