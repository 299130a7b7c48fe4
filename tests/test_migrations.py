"""Alembic migrations build exactly the schema the models describe, and `watchstander migrate` applies them."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import bot.models  # noqa: F401  (every table)
from bot.db import MIGRATIONS_DIR, Base, _upgrade_sync, alembic_config

SCRIPTS = ScriptDirectory.from_config(alembic_config("sqlite://"))


def schema_drift(db: Path) -> list[str]:
    """What autogenerate would change to make the database match the models: tables, columns, indexes,
    column types and nullability."""
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    return [str(d) for d in diff]


def stamped(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))


def test_models_and_migrations_agree(migrated_db: Path) -> None:
    drift = schema_drift(migrated_db)
    assert drift == [], "models changed without a migration (or the reverse):\n" + "\n".join(drift)


def test_the_drift_check_sees_a_changed_column_type_and_nullability(tmp_path: Path, migrated_db: Path) -> None:
    db = tmp_path / "changed.db"
    shutil.copy(migrated_db, db)
    with sqlite3.connect(db) as conn:  # what a migration that disagrees with the models would leave
        conn.execute("ALTER TABLE weekly_summaries ADD COLUMN note TEXT")
        conn.execute("CREATE TABLE t (channel INTEGER, title VARCHAR(300))")
        conn.execute("INSERT INTO t SELECT channel, channel FROM weekly_summaries")
        conn.execute("ALTER TABLE weekly_summaries DROP COLUMN channel")
        conn.execute("ALTER TABLE weekly_summaries ADD COLUMN channel INTEGER")
    drift = "\n".join(schema_drift(db))
    assert "remove_column" in drift and "'note'" in drift
    assert "modify_type" in drift and "'channel'" in drift and "INTEGER" in drift
    assert "modify_nullable" in drift


def test_history_is_one_line_with_one_head() -> None:
    heads = SCRIPTS.get_heads()
    assert len(heads) == 1, f"migrations must chain onto the single head, not branch off it: heads {heads}"
    revisions = list(SCRIPTS.walk_revisions())
    assert [rev.revision for rev in revisions if rev.down_revision is None] == ["0001"]
    assert all(isinstance(rev.down_revision, str | None) for rev in revisions), "no merge revisions"
    assert len({rev.down_revision for rev in revisions}) == len(revisions), "two revisions share a parent"


def _old_branched_history(tmp_path: Path) -> Path:
    """The migrations as they were before the history was made linear: 0002…0006 each off 0001."""
    old = tmp_path / "old-migrations"
    # Only the revisions that existed then; later ones chain onto the linear history.
    shutil.copytree(MIGRATIONS_DIR, old, ignore=shutil.ignore_patterns("__pycache__", "000[7-9]_*", "00[1-9]?_*"))
    for path in (old / "versions").glob("000[3-6]_*.py"):
        text = re.sub(r'^down_revision = ".*"$', 'down_revision = "0001"', path.read_text(), flags=re.M)
        path.write_text(text)
    return old


def _migrate_with(scripts: Path, db: Path, *targets: str) -> None:
    cfg = alembic_config(f"sqlite+aiosqlite:///{db}")
    cfg.set_main_option("script_location", str(scripts))
    for target in targets:
        command.upgrade(cfg, target)


@pytest.mark.parametrize("old_targets", [("heads",), ("0002_oncall", "0004_incidents"), ("0001",)],
                         ids=["every-branch", "two-branches", "root-only"])
def test_a_database_migrated_by_the_old_branched_history_upgrades(tmp_path: Path, old_targets: tuple[str, ...]) -> None:
    db = tmp_path / "old.db"
    _migrate_with(_old_branched_history(tmp_path), db, *old_targets)
    if old_targets == ("heads",):
        assert stamped(db) == ["0002_oncall", "0003_escalation", "0004_incidents", "0005_handoffs", "0006_reports"]
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO seen_requests (key, at) VALUES ('kept', '2026-11-30 10:00:00')")
    _upgrade_sync(f"sqlite+aiosqlite:///{db}")
    assert stamped(db) == SCRIPTS.get_heads()
    assert schema_drift(db) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT key FROM seen_requests").fetchall() == [("kept",)]
    _upgrade_sync(f"sqlite+aiosqlite:///{db}")  # and again: nothing to do
    assert stamped(db) == SCRIPTS.get_heads()


def test_migrate_command_creates_the_database(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    done = subprocess.run([sys.executable, "-m", "bot", "migrate"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "database is up to date" in done.stdout
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alert_groups", "alerts", "alert_events", "outbox", "silences"} <= tables
    assert stamped(db) == SCRIPTS.get_heads()



@pytest.mark.postgres
async def test_replicas_starting_together_migrate_one_after_another(postgres_server: str) -> None:
    """Three `watchstander migrate` at once on an empty PostgreSQL database (as replicas that start together
    each migrate first): an advisory lock lets one create the schema, and the others find it done."""
    name = f"watchstander_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(postgres_server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    env = {**os.environ, "DATABASE_URL": make_url(postgres_server).set(database=name).render_as_string(False)}
    try:
        runs = [await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "migrate", env=env,
                                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(3)]
        outcomes = [(*(await asyncio.wait_for(run.communicate(), 120)), run.returncode) for run in runs]
        assert [code for _, _, code in outcomes] == [0, 0, 0], [err[-800:] for _, err, _ in outcomes]
        assert all(b"database is up to date" in out for out, _, _ in outcomes)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()
