"""monitor states, check outages and hourly rollups

Revision ID: 0010_monitors
Revises: 0009_known_channels
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0010_monitors"
down_revision = "0009_known_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(length=64), nullable=False),
        sa.Column("started_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_outages")),
    )
    with op.batch_alter_table("check_outages", schema=None) as batch_op:
        batch_op.create_index("ix_check_outages_check_started_at", ["check", "started_at"], unique=False)

    op.create_table(
        "check_rollups",
        sa.Column("check", sa.String(length=64), nullable=False),
        sa.Column("hour", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("probes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.Column("buckets", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("check", "hour", name=op.f("pk_check_rollups")),
    )
    op.create_table(
        "monitor_states",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("watching_since", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_ok_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("down_since", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.Column("slow_alerted", sa.Boolean(), nullable=False),
        sa.Column("expiry_alerted", sa.Boolean(), nullable=False),
        sa.Column("good_streak", sa.Integer(), nullable=False),
        sa.Column("recovering_since", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("slow_streak", sa.Integer(), nullable=False),
        sa.Column("fast_streak", sa.Integer(), nullable=False),
        sa.Column("failed_probes", sa.Integer(), nullable=False),
        sa.Column("last_probe_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_latency_ms", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("cert_expires_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_due_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_monitor_states")),
    )
    with op.batch_alter_table("monitor_states", schema=None) as batch_op:
        batch_op.create_index("ix_monitor_states_next_due_at", ["next_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("monitor_states", schema=None) as batch_op:
        batch_op.drop_index("ix_monitor_states_next_due_at")

    op.drop_table("monitor_states")
    op.drop_table("check_rollups")
    with op.batch_alter_table("check_outages", schema=None) as batch_op:
        batch_op.drop_index("ix_check_outages_check_started_at")

    op.drop_table("check_outages")
