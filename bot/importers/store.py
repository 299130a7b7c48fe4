"""Loading imported overrides into the bot's database, as ``/oncall override`` would store them.

Running the import twice stores each override once: one with the same team, person and span is
already there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.db import create_engine, migrate, session_factory
from bot.importers.jsonread import ImportFailed
from bot.importers.mapping import OverrideToStore
from bot.oncall.models import OverrideRow

IMPORTER = "import"  # created_by of every imported override


async def store_overrides(database_url: str, overrides: Sequence[OverrideToStore], now: datetime) -> int:
    """Store the overrides not already stored; returns how many were added."""
    try:
        await migrate(database_url)
    except Exception as exc:  # noqa: BLE001 - alembic raises many kinds; the operator needs the message
        raise ImportFailed(f"cannot prepare the database {_shown(database_url)}: {exc}") from None
    engine = create_engine(database_url)
    added = 0
    try:
        async with session_factory(engine)() as session, session.begin():
            for i, o in enumerate(overrides):
                same = await session.scalar(select(OverrideRow.id).where(
                    OverrideRow.team == o.team, OverrideRow.person == o.person, OverrideRow.starts_at == o.start,
                    OverrideRow.ends_at == o.end, OverrideRow.cancelled_at.is_(None)))
                if same is not None:
                    continue
                # Later vendor overrides win over earlier ones; created_at carries that order.
                session.add(OverrideRow(team=o.team, person=o.person, starts_at=o.start, ends_at=o.end,
                                        created_by=IMPORTER, created_at=now + timedelta(microseconds=i),
                                        reason=o.reason[:300]))
                added += 1
    except (OperationalError, ProgrammingError) as exc:
        raise ImportFailed(f"cannot store the overrides in {_shown(database_url)}: {exc.orig}") from None
    finally:
        await engine.dispose()
    return added


def _shown(url: str) -> str:
    """The database URL without a password."""
    head, sep, tail = url.partition("@")
    return f"{head.split(':')[0]}://…@{tail}" if sep else url
