"""incidents: roles, timeline, action items, linked alerts, checklist ticks

Revision ID: 0004_incidents
Revises: 0003_escalation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0004_incidents"
down_revision = "0003_escalation"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, bot.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("affected_service", sa.String(length=200), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("commander", sa.String(length=32), nullable=False),
        sa.Column("reporter", sa.String(length=32), nullable=False),
        sa.Column("playbook", sa.String(length=64), nullable=True),
        sa.Column("origin_channel_id", sa.String(length=32), nullable=True),
        sa.Column("channel_name", sa.String(length=80), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("header_ts", sa.String(length=32), nullable=True),
        sa.Column("announcement_channel_id", sa.String(length=32), nullable=True),
        sa.Column("announcement_ts", sa.String(length=32), nullable=True),
        sa.Column("slack_state", sa.JSON(), nullable=False),
        _when("declared_at", nullable=False),
        _when("detected_at", nullable=True),
        _when("acknowledged_at", nullable=True),
        _when("mitigated_at", nullable=True),
        _when("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.String(length=32), nullable=True),
        _when("last_status_at", nullable=True),
        _when("last_nudge_at", nullable=True),
        _when("postmortem_done_at", nullable=True),
        sa.Column("postmortem_done_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("uq_incidents_channel", "incidents", ["channel_id"], unique=True)

    op.create_table(
        "incident_action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=True),
        _when("created_at", nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        _when("done_at", nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_action_items_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_action_items")),
    )
    op.create_index(op.f("ix_incident_action_items_incident_id"), "incident_action_items", ["incident_id"])

    op.create_table(
        "incident_checklist",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        _when("changed_at", nullable=False),
        sa.Column("changed_by", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_checklist_incident_id_incidents")),
        sa.PrimaryKeyConstraint("incident_id", "item_id", name=op.f("pk_incident_checklist")),
    )

    op.create_table(
        "incident_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("person", sa.String(length=32), nullable=False),
        _when("assigned_at", nullable=False),
        sa.Column("assigned_by", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_roles_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_roles")),
    )
    op.create_index("uq_incident_roles_role", "incident_roles", ["incident_id", "role"], unique=True)

    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        _when("at", nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("source_channel", sa.String(length=32), nullable=True),
        sa.Column("source_ts", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_timeline_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_timeline")),
    )
    op.create_index("ix_incident_timeline_incident_at", "incident_timeline", ["incident_id", "at"])
    op.create_index("ix_incident_timeline_message", "incident_timeline", ["source_channel", "source_ts"])
    op.create_index("uq_incident_timeline_source", "incident_timeline", ["incident_id", "source_ts"], unique=True)

    op.create_table(
        "incident_alerts",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        _when("linked_at", nullable=False),
        sa.Column("linked_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["alert_groups.id"],
                                name=op.f("fk_incident_alerts_group_id_alert_groups")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_alerts_incident_id_incidents")),
        sa.PrimaryKeyConstraint("incident_id", "group_id", name=op.f("pk_incident_alerts")),
    )
    op.create_index("ix_incident_alerts_group", "incident_alerts", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_alerts_group", table_name="incident_alerts")
    op.drop_table("incident_alerts")
    op.drop_index("uq_incident_timeline_source", table_name="incident_timeline")
    op.drop_index("ix_incident_timeline_message", table_name="incident_timeline")
    op.drop_index("ix_incident_timeline_incident_at", table_name="incident_timeline")
    op.drop_table("incident_timeline")
    op.drop_index("uq_incident_roles_role", table_name="incident_roles")
    op.drop_table("incident_roles")
    op.drop_table("incident_checklist")
    op.drop_index(op.f("ix_incident_action_items_incident_id"), table_name="incident_action_items")
    op.drop_table("incident_action_items")
    op.drop_index("uq_incidents_channel", table_name="incidents")
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.drop_table("incidents")
