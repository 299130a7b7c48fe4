"""Alembic migrations build exactly the schema the models describe, and `watchstander migrate` applies them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import bot.models  # noqa: F401  (every table)
from bot.db import Base


def test_models_and_migrations_agree(migrated_db: Path) -> None:
    engine = create_engine(f"sqlite:///{migrated_db}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration (or the reverse):\n" + "\n".join(map(str, diff))


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


def test_backup_command_copies_a_live_database(tmp_path: Path, migrated_db: Path) -> None:
    target = tmp_path / "copy.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{migrated_db}"}
    done = subprocess.run([sys.executable, "-m", "bot", "backup", str(target)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] >= 1
    again = subprocess.run([sys.executable, "-m", "bot", "backup", str(target)], capture_output=True, text=True,
                           env=env, timeout=120)
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
