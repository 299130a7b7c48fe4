"""announced on-call handoffs

Revision ID: 0005_handoffs
Revises: 0004_incidents
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0005_handoffs"
down_revision = "0004_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("primary", sa.String(length=32), nullable=True),
        sa.Column("backup", sa.String(length=32), nullable=True),
        sa.Column("announced_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_handoffs")),
    )
    op.create_index("uq_oncall_handoffs_team_at", "oncall_handoffs", ["team", "at"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_oncall_handoffs_team_at", table_name="oncall_handoffs")
    op.drop_table("oncall_handoffs")
