"""Reading a crash-tested bot's database from outside its process: what it stored, what is left to do.

A restarted bot works on its own; a test that wants to say "exactly one" must first know the bot
has finished. :func:`until_settled` waits for that *state* — every alert shown at its current
version, every outbox row sent or failed, no escalation step due at the test's time — never for
a time. Duplicates could only come from work still pending, so once nothing is pending the
stand-ins' counts are final.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.process import BotProcess

SETTLE_WITHIN = 60.0  # seconds: a bound to fail a bot that never finishes, not a timing assertion
_LOOK_AGAIN = 0.02


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the bot's SQLite database (WAL mode: readers never block the bot's writes)."""
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return list(conn.execute(sql, params))


def _utc(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)  # the bot stores naive UTC on SQLite


def pending(db: Path, now: datetime) -> list[str]:
    """Everything the bot still has to do at ``now``, in words; empty once it has done it all.

    One read transaction, so every table is seen at the same commit: read one by one, a step's
    commit could fall between the outbox query (no pages yet) and the escalation query (advanced).
    """
    with closing(sqlite3.connect(db, timeout=30, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        groups = list(conn.execute("SELECT id, version, posted_version FROM alert_groups"))
        storms = list(conn.execute("SELECT id, version, posted_version FROM alert_storms"))
        outbox = list(conn.execute("SELECT id, kind, attempts, due_at FROM outbox "
                                   "WHERE sent_at IS NULL AND failed_at IS NULL"))
        steps = list(conn.execute("SELECT group_id, next_at FROM escalations WHERE next_at IS NOT NULL"))
        conn.execute("COMMIT")
    left = [f"alert group {gid} not shown at version {v} (shown: {pv})" for gid, v, pv in groups if pv < v]
    left += [f"alert storm {sid} not shown at version {v}" for sid, v, pv in storms if pv < v]
    left += [f"outbox row {rid} ({kind}) neither sent nor failed (attempts {n})"
             for rid, kind, n, due in outbox if _utc(due) <= now]
    left += [f"escalation of alert group {gid} due at {at}" for gid, at in steps if _utc(at) <= now]
    return left


async def until_settled(db: Path, now: datetime | None = None, bot: BotProcess | None = None) -> None:
    """Return once :func:`pending` is empty at ``now`` (the bot's fake time; the real time if the
    bot runs on the real clock); fail, listing what is left, if it never is or if ``bot`` exits."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + SETTLE_WITHIN
    while left := pending(db, now or datetime.now(UTC)):
        if bot is not None and bot.proc.returncode is not None:
            raise AssertionError(f"the bot exited (code {bot.proc.returncode}) with work left: " + "; ".join(left)
                                 + "\n" + "".join(bot.log[-5:]))
        if loop.time() > give_up:
            raise AssertionError("the bot never finished: " + "; ".join(left))
        await asyncio.sleep(_LOOK_AGAIN)
