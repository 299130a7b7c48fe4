"""channel ids learned from the bot's own posts, to look a post up again after a crash

Revision ID: 0009_known_channels
Revises: 0008_channel_pauses
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0009_known_channels"
down_revision = "0008_channel_pauses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_channels",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("learned_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_known_channels")),
    )
    # What the alert messages already posted tell: each team channel's id.
    op.execute("INSERT INTO known_channels (name, channel_id, learned_at) "
               "SELECT channel, max(slack_channel_id), max(created_at) FROM alert_groups "
               "WHERE slack_channel_id IS NOT NULL GROUP BY channel")


def downgrade() -> None:
    op.drop_table("known_channels")
