"""`watchstander backup` copies the SQLite database while the bot keeps storing alerts."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.factories import TOKENS
from tests.support.harness import Harness

MAX_WRITES = 5000  # a bound, in case the backup never ends; it ends long before


def backup_env(db_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db_url}


async def test_backup_while_alerts_keep_arriving_is_a_consistent_prefix(harness: Harness, db_url: str,
                                                                         tmp_path: Path) -> None:
    """A writer posts alerts one after another, each answered 202 only once stored, for the whole
    time the backup command runs. The copy must open, pass SQLite's integrity check and hold exactly
    the first N alerts: every alert answered before the backup started, none not yet sent when it ended,
    each with its group and its "received" event."""
    target = tmp_path / "copy.db"
    answered: list[str] = []  # titles, in the order the bot answered 202
    sent = 0  # posts begun
    backup_done = asyncio.Event()

    async def write_one() -> None:
        nonlocal sent
        title = f"Probe {sent:05}"
        sent += 1
        status, body = await harness.post("/alerts/generic", {"title": title, "dedup_key": title, "severity": "info"},
                                          token=TOKENS["GENERIC_TOKEN"])
        assert status == 202, body
        answered.append(title)

    async def keep_writing() -> None:
        while not backup_done.is_set() and sent < MAX_WRITES:
            await write_one()

    # A reader holding an old snapshot (a report query, an operator's sqlite3 shell) keeps SQLite from
    # checkpointing: what the bot stores from now on lives only in the -wal file, which a plain copy
    # of the database file would miss.
    reader = sqlite3.connect(db_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
    for _ in range(20):  # there is something to copy when the backup starts
        await write_one()
    writer = asyncio.create_task(keep_writing())
    before = len(answered)
    backup = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "backup", str(target), env=backup_env(db_url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(backup.communicate(), timeout=120)
    sent_by_the_end = sent
    backup_done.set()
    await writer
    reader.close()
    assert backup.returncode == 0, err.decode()
    assert out.decode().startswith("backed up ")
    assert len(answered) > before, "the bot stored alerts while the backup ran"

    with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA foreign_key_check").fetchall() == []
        titles = [r[0] for r in copy.execute("SELECT title FROM alerts ORDER BY id")]
        orphans = copy.execute(
            "SELECT count(*) FROM alerts a LEFT JOIN alert_groups g ON g.id = a.group_id WHERE g.id IS NULL"
        ).fetchone()[0]
        unrecorded = copy.execute(
            "SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM alert_events e"
            " WHERE e.alert_id = a.id AND e.kind = 'received')"
        ).fetchone()[0]
    assert titles == [f"Probe {i:05}" for i in range(len(titles))], "a prefix of the writes, in order, no gaps"
    assert before <= len(titles) <= sent_by_the_end, (before, len(titles), sent_by_the_end)
    assert (orphans, unrecorded) == (0, 0)


def test_backup_refuses_to_overwrite(tmp_path: Path, db_url: str) -> None:
    target = tmp_path / "copy.db"
    target.write_bytes(b"yesterday's backup")
    done = subprocess.run([sys.executable, "-m", "bot", "backup", str(target)], capture_output=True, text=True,
                          env=backup_env(db_url), timeout=120)
    assert done.returncode == 2 and f"{target} exists; refusing to overwrite it" in done.stderr
    assert target.read_bytes() == b"yesterday's backup"
