"""email as a channel: email threads per alert and address, the link-signing key, an email page's address

Revision ID: 0012_email
Revises: 0011_loop_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0012_email"
down_revision = "0011_loop_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("person", sa.String(length=32), nullable=True),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_sent_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["alert_groups.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "address", name="uq_email_threads_group_address"),
    )
    op.create_index("ix_email_threads_address_created", "email_threads", ["address", "created_at"], unique=False)
    op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_column("address")
    op.drop_table("signing_keys")
    op.drop_index("ix_email_threads_address_created", table_name="email_threads")
    op.drop_table("email_threads")
