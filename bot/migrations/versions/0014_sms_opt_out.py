"""SMS hygiene: numbers that replied STOP, and informational answers counted per number and hour

Revision ID: 0014_sms_opt_out
Revises: 0013_shift_swaps
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0014_sms_opt_out"
down_revision = "0013_shift_swaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    op.create_table(
        "sms_reply_counts",
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("hour", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number", "hour"),
    )


def downgrade() -> None:
    op.drop_table("sms_reply_counts")
    op.drop_table("sms_opt_outs")
