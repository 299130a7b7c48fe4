"""Alembic environment: runs migrations on the async engine the bot itself uses."""

from __future__ import annotations

import asyncio

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

import bot.models  # noqa: F401  (loads every table into Base.metadata)
from bot.db import Base, collapse_former_branches, create_engine

config = context.config
# The key of the PostgreSQL advisory lock a migration holds until it commits: a second replica starting
# at the same moment waits for it, then finds the schema up to date instead of creating it again.
MIGRATION_LOCK = 0x5741544348  # "WATCH"
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # replicas that start together migrate one after another
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        collapse_former_branches(connection, context.get_context(), ScriptDirectory.from_config(config))
        context.run_migrations()


async def _online(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


def _offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


url = config.get_main_option("sqlalchemy.url")
if not url:  # bot.db.alembic_config always sets it
    raise SystemExit("alembic: sqlalchemy.url is not set")
if context.is_offline_mode():
    _offline(url)
else:
    asyncio.run(_online(url))
