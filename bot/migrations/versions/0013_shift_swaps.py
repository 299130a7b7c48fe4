"""shift swaps asked with /oncall swap, and their answer

Revision ID: 0013_shift_swaps
Revises: 0012_email
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0013_shift_swaps"
down_revision = "0012_email"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shift_swaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("asker", sa.String(length=32), nullable=False),
        sa.Column("other", sa.String(length=32), nullable=False),
        sa.Column("asker_start", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("asker_end", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("other_start", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("other_end", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("asker_override_id", sa.Integer(), nullable=True),
        sa.Column("other_override_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["asker_override_id"], ["oncall_overrides.id"],
                                name=op.f("fk_shift_swaps_asker_override_id_oncall_overrides")),
        sa.ForeignKeyConstraint(["other_override_id"], ["oncall_overrides.id"],
                                name=op.f("fk_shift_swaps_other_override_id_oncall_overrides")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_swaps")),
    )


def downgrade() -> None:
    op.drop_table("shift_swaps")
