"""escalation runs and pages

Revision ID: 0003_escalation
Revises: 0002_oncall
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0003_escalation"
down_revision = "0002_oncall"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("started_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("next_step", sa.Integer(), nullable=False),
        sa.Column("next_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("steps_run", sa.Integer(), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["alert_groups.id"],
                                name=op.f("fk_escalations_group_id_alert_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("group_id", name=op.f("uq_escalations_group_id")),
    )
    op.create_index("ix_escalations_next_at", "escalations", ["next_at"])
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=32), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=True),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("send_attempts", sa.Integer(), nullable=False),
        sa.Column("twilio_sid", sa.String(length=64), nullable=True),
        sa.Column("slack_ref", sa.String(length=64), nullable=True),
        sa.Column("delivery_status", sa.String(length=16), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("requested_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acked_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["alert_groups.id"], name=op.f("fk_pages_group_id_alert_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
    )
    op.create_index("ix_pages_group_id", "pages", ["group_id"])
    op.create_index("ix_pages_person_code", "pages", ["person", "code"])
    op.create_index("ix_pages_twilio_sid", "pages", ["twilio_sid"])
    op.create_index("ix_alert_groups_snoozed_until", "alert_groups", ["snoozed_until"])


def downgrade() -> None:
    op.drop_index("ix_alert_groups_snoozed_until", table_name="alert_groups")
    op.drop_index("ix_pages_twilio_sid", table_name="pages")
    op.drop_index("ix_pages_person_code", table_name="pages")
    op.drop_index("ix_pages_group_id", table_name="pages")
    op.drop_table("pages")
    op.drop_index("ix_escalations_next_at", table_name="escalations")
    op.drop_table("escalations")
