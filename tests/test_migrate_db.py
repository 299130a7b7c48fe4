"""`watchstander migrate-db --from URL --to URL`: a year of history moves from SQLite to PostgreSQL and
back unchanged, and the bot started on the new database answers `/oncall report 30d` as before; a
target that holds data is refused (unless ``--force``); a bad URL is explained, with no traceback."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.alerts.models import AlertEvent
from bot.clock import FAKE_CLOCK_ENV, FileClock
from bot.db import Base, create_engine, session_factory, transaction
from bot.migrate_db import tables
from bot.oncall.models import OverrideRow
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack_user import SlackDriver
from tests.conftest import CHANNELS, USERS
from tests.support.factories import ALICE, T0
from tests.support.harness import SIGNING_SECRET
from tests.support.history import seed_year
from tests.support.process import BotProcess, start_bot, write_config
from tests.support.visible import visible_text

ROOT = Path(__file__).resolve().parent.parent


async def migrate_db(*args: str) -> subprocess.CompletedProcess[str]:
    """``watchstander migrate-db …`` as an operator runs it (in a thread: the test's stand-ins keep serving)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "migrate-db", *args],
                                   capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def raw_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows as SQLite stores them (text of times and JSON, 0/1, NULLs), in key order."""
    conn = sqlite3.connect(path)
    try:
        return {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY '
                                   + ", ".join(f'"{c.name}"' for c in Base.metadata.tables[name].primary_key.columns))
                .fetchall() for name in tables()}
    finally:
        conn.close()


async def report_30d(bot: BotProcess, slack: SlackStandIn) -> str:
    """``/oncall report 30d`` as Alice, over signed HTTP; what she sees."""
    before = len(slack.ephemerals(ALICE))
    async with SlackDriver(f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET, slack=slack) as driver:
        response = await driver.slash("/oncall", "report 30d", user_id=ALICE,
                                      channel_id=slack.channel_id("platform-alerts"))
    assert response.status == 200, response.text
    [shown] = await slack.wait_for(lambda: slack.ephemerals(ALICE)[before:] or None, timeout=30)
    return visible_text(shown)


@pytest.mark.postgres
async def test_a_year_moves_to_postgresql_and_back_and_the_report_reads_the_same(
        tmp_path: Path, migrated_db: Path, pg_url: str) -> None:
    source, back = tmp_path / "before.db", tmp_path / "back.db"
    shutil.copy(migrated_db, source)
    engine = create_engine(sqlite_url(source))
    try:
        await seed_year(session_factory(engine), T0 - timedelta(hours=1))
    finally:
        await engine.dispose()
    clock_file = tmp_path / "now"
    clock_file.write_text(T0.isoformat())
    config = write_config(tmp_path)
    env = {FAKE_CLOCK_ENV: str(clock_file)}
    async with SlackStandIn(channels=CHANNELS, users=USERS, clock=FileClock(str(clock_file))) as slack:
        bot = await start_bot(db_path=source, config_path=config, slack_api_url=slack.api_url, extra_env=env)
        try:
            on_sqlite = await report_30d(bot, slack)
        finally:
            await bot.stop()
        assert "*Alerts*\n*2" in on_sqlite  # some 250 alerts in 30 days: the report has something to show

        there = await migrate_db("--from", sqlite_url(source), "--to", pg_url)
        assert there.returncode == 0, there.stderr
        assert "  alert_events " in there.stdout and "each table's row count matches the source's" in there.stdout
        assert f"Set DATABASE_URL={pg_url}" in there.stdout

        home = await migrate_db("--from", pg_url, "--to", sqlite_url(back))
        assert home.returncode == 0, home.stderr
        assert raw_rows(back) == raw_rows(source)  # times, JSON (and NULL JSON), booleans: byte for byte

        bot = await start_bot(db_path=tmp_path / "unused.db", config_path=config, slack_api_url=slack.api_url,
                              extra_env={**env, "DATABASE_URL": pg_url})
        try:
            on_postgres = await report_30d(bot, slack)
        finally:
            await bot.stop()
    assert on_postgres == on_sqlite
    engine = create_engine(pg_url)
    try:  # the sequences were moved past the copied ids: new rows get new ids
        async with transaction(session_factory(engine)) as s:
            latest = await s.scalar(select(func.max(AlertEvent.id)))
            event = AlertEvent(group_id=1, at=T0, kind="acknowledged", actor=ALICE, via="slack", detail={})
            override = OverrideRow(team="platform", person=ALICE, starts_at=T0, ends_at=T0 + timedelta(hours=1),
                                   created_by=ALICE, created_at=T0)
            s.add_all([event, override])
            await s.flush()
            assert latest is not None and event.id > latest and override.id > 52
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_target_that_holds_data_is_refused_unless_forced(tmp_path: Path, migrated_db: Path,
                                                                   pg_url: str) -> None:
    source = tmp_path / "w.db"
    shutil.copy(migrated_db, source)
    engine = create_engine(sqlite_url(source))
    try:
        await seed_year(session_factory(engine), T0, alerts=30)
    finally:
        await engine.dispose()
    assert (await migrate_db("--from", sqlite_url(source), "--to", pg_url)).returncode == 0

    again = await migrate_db("--from", sqlite_url(source), "--to", pg_url)
    assert again.returncode == 1
    assert "already holds data (in incidents, " in again.stderr and ", alert_groups, " in again.stderr
    assert "add --force to delete what it holds" in again.stderr and "Traceback" not in again.stderr

    forced = await migrate_db("--from", sqlite_url(source), "--to", pg_url, "--force")
    assert forced.returncode == 0, forced.stderr
    assert re.search(r"^  alert_groups +30 rows$", forced.stdout, re.MULTILINE), forced.stdout  # replaced, not added to


@pytest.mark.postgres
async def test_a_row_postgresql_refuses_stops_the_copy_and_leaves_the_target_empty(
        tmp_path: Path, migrated_db: Path, pg_url: str) -> None:
    """SQLite does not enforce VARCHAR lengths; PostgreSQL does. The copy names the table and writes nothing."""
    source = tmp_path / "w.db"
    shutil.copy(migrated_db, source)
    engine = create_engine(sqlite_url(source))
    try:
        await seed_year(session_factory(engine), T0, alerts=20)
    finally:
        await engine.dispose()
    with sqlite3.connect(source) as conn:
        conn.execute("INSERT INTO known_channels (name, channel_id, learned_at) VALUES (?, 'C1', '2026-11-24 13:00:00')",
                     ("x" * 200,))
    result = await migrate_db("--from", sqlite_url(source), "--to", pg_url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "migrate-db: copying known_channels failed, nothing was written to the target: " in result.stderr
    assert "value too long for type character varying(128)" in result.stderr
    engine = create_engine(pg_url)
    try:
        async with session_factory(engine)() as s:
            assert await s.scalar(select(func.count()).select_from(Base.metadata.tables["incidents"])) == 0  # copied before
    finally:
        await engine.dispose()


async def test_bad_urls_are_explained_without_a_traceback(tmp_path: Path, migrated_db: Path) -> None:
    source = tmp_path / "w.db"
    shutil.copy(migrated_db, source)
    cases = {
        ("not a url", sqlite_url(tmp_path / "x.db")): "--from: 'not a url' is not a database URL",
        (sqlite_url(tmp_path / "missing.db"), sqlite_url(tmp_path / "x.db")):
            f"--from: there is no SQLite database at {tmp_path / 'missing.db'}",
        (sqlite_url(source), "mysql://db/watchstander"): "--to: mysql is not supported",
        (sqlite_url(source), sqlite_url(source)): "--from and --to name the same database",
        (sqlite_url(source), sqlite_url(tmp_path / "no" / "dir.db")): "the directory of",
        (sqlite_url(source), "postgresql://u:secret@127.0.0.1:9/watchstander"):
            "--to: cannot open postgresql+asyncpg://u:***@127.0.0.1:9/watchstander: ",
    }
    for (from_url, to_url), expected in cases.items():
        result = await migrate_db("--from", from_url, "--to", to_url)
        assert result.returncode == 1, (from_url, to_url, result.stderr)
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "secret" not in result.stderr


async def test_a_source_behind_the_newest_schema_is_sent_to_migrate_first(tmp_path: Path) -> None:
    source = tmp_path / "old.db"
    sqlite3.connect(source).close()  # an empty file: no Alembic revision at all
    result = await migrate_db("--from", sqlite_url(source), "--to", sqlite_url(tmp_path / "new.db"))
    assert result.returncode == 1
    assert "is at no revision" in result.stderr and "watchstander migrate" in result.stderr, result.stderr
