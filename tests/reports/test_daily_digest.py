"""The daily digest's figures, computed over a real SQLite file; the day and what it must give are in
:mod:`tests.reports.day`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Config
from bot.db import create_engine, session_factory, transaction
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import Origin
from bot.reports.daily import DailyDigest, compute_daily_digest, digest_key, due_digest
from tests.reports import seed
from tests.reports.day import CHECKS, DAY_END, DAY_START, DUE, at, seed_day
from tests.support.factories import ALICE, BOB, CAROL, DAVE, make_config

BERLIN = make_config().zone()


@pytest.fixture
def config() -> Config:
    return make_config(CHECKS)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(db_url)
    yield session_factory(engine)
    await engine.dispose()


async def digest(sessions: async_sessionmaker[AsyncSession], config: Config, *, start: datetime = DAY_START,
                 end: datetime = DAY_END, now: datetime = DUE) -> DailyDigest:
    async with sessions() as s:
        return await compute_daily_digest(s, config=config, schedules=Schedules.load(config), day_start=start,
                                          day_end=end, now=now, zone=BERLIN)


async def test_every_section_of_a_known_day(sessions: async_sessionmaker[AsyncSession], config: Config) -> None:
    await seed_day(sessions)
    d = await digest(sessions, config)
    assert (d.day, d.sent_on) == (date(2026, 12, 2), date(2026, 12, 3))
    assert d.yesterday.by_severity == {"critical": 1, "high": 1, "medium": 1, "low": 2}
    assert [(a.title, a.severity, a.status, a.team) for a in d.yesterday.shown] == [
        ("PaymentsDown", "critical", "resolved", "payments"),
        ("SlowResponses", "high", "acknowledged", "platform"),
        ("QueueBacklog", "medium", "firing", "platform"),
        ("MidnightBackup", "low", "resolved", "platform"),
        ("DiskCleanup", "low", "resolved", "platform"),
    ]
    assert d.yesterday.more == 0
    assert d.open_now.by_severity == {"high": 2, "medium": 1, "info": 1}  # the open test alert is not one
    assert [(a.title, d.now - a.created_at) for a in d.open_now.shown] == [
        ("BackupFailed", timedelta(days=2, hours=21, minutes=30)),
        ("SlowResponses", timedelta(hours=19, minutes=30)),
        ("QueueBacklog", timedelta(hours=8, minutes=31)),
        ("EarlyThursday", timedelta(hours=8, minutes=30)),
    ]
    platform, payments = d.on_call
    assert [(s.person, s.start, s.end, s.source) for s in platform.primary] == [
        (BOB, datetime(2026, 11, 30, 8, 0, tzinfo=UTC), at(3, 11), Origin.ROTATION),
        (ALICE, at(3, 11), at(3, 12), Origin.OVERRIDE),
        (BOB, at(3, 12), datetime(2026, 12, 7, 8, 0, tzinfo=UTC), Origin.ROTATION),
    ]
    assert [(s.person, s.end) for s in platform.backup] == [(CAROL, datetime(2026, 12, 7, 8, 0, tzinfo=UTC))]
    assert (payments.team, payments.has_schedule, [(s.person, s.start, s.end) for s in payments.primary]) == (
        "payments", False, [(DAVE, at(3, 13), at(3, 17))])
    assert [(c.name, c.team, c.down_since, c.reason) for c in d.checks_down] == [
        ("api-health", "platform", at(3, 5), "HTTP 503")]
    assert [(c.name, c.address, c.expires_at, c.alerted) for c in d.certs_expiring] == [
        ("shop-tls", "shop.example.com:443", datetime(2026, 12, 20, 12, 0, tzinfo=UTC), True)]
    assert not d.quiet


async def test_an_empty_database_is_a_quiet_day(sessions: async_sessionmaker[AsyncSession]) -> None:
    d = await digest(sessions, make_config())
    assert d.quiet and d.yesterday.total == 0 and d.open_now.total == 0
    assert [t.team for t in d.on_call] == ["platform"]  # payments has no schedule and no override


async def test_more_than_ten_are_counted_and_the_most_severe_listed(sessions: async_sessionmaker[AsyncSession],
                                                                   config: Config) -> None:
    async with transaction(sessions) as s:
        for i in range(12):
            await seed.alert(s, f"Low{i:02}", "low", at(2, 1, i), resolved_after=timedelta(minutes=1))
        await seed.alert(s, "LateCritical", "critical", at(2, 20), resolved_after=timedelta(minutes=1))
        await seed.alert(s, "Info", "info", at(2, 0, 30), resolved_after=timedelta(minutes=1))
    d = await digest(sessions, config)
    assert d.yesterday.total == 14 and d.yesterday.more == 4
    assert [a.title for a in d.yesterday.shown] == ["LateCritical", *(f"Low{i:02}" for i in range(9))]


async def test_a_dst_day_is_25_hours_and_the_due_digest_follows_the_local_clock(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """Berlin leaves summer time on Sunday 25 Oct 2026: that day runs 24 Oct 22:00Z → 25 Oct 23:00Z."""
    config = make_config("daily_summary: {channel: ops}\n")
    assert config.daily_summary is not None
    monday = due_digest(config, config.daily_summary, datetime(2026, 10, 26, 7, 30, tzinfo=UTC))
    assert (monday.day, monday.scheduled_at) == (date(2026, 10, 26), datetime(2026, 10, 26, 7, 30, tzinfo=UTC))
    assert (monday.start, monday.end) == (datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
                                          datetime(2026, 10, 25, 23, 0, tzinfo=UTC))
    sunday = due_digest(config, config.daily_summary, datetime(2026, 10, 25, 7, 30, tzinfo=UTC))
    assert (sunday.scheduled_at, sunday.start, sunday.end) == (
        datetime(2026, 10, 25, 7, 30, tzinfo=UTC), datetime(2026, 10, 23, 22, 0, tzinfo=UTC),
        datetime(2026, 10, 24, 22, 0, tzinfo=UTC))
    # One minute before 08:30 CET it is still Sunday's digest that is the latest due.
    assert due_digest(config, config.daily_summary, datetime(2026, 10, 26, 7, 29, tzinfo=UTC)).day == date(2026, 10, 25)
    async with transaction(sessions) as s:
        for when in (datetime(2026, 10, 24, 21, 59, tzinfo=UTC), datetime(2026, 10, 24, 22, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                     datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 25, 22, 59, tzinfo=UTC)):
            await seed.alert(s, f"At{when:%H%M}", "high", when, resolved_after=timedelta(minutes=1))
    d = await digest(sessions, config, start=monday.start, end=monday.end, now=monday.scheduled_at)
    assert monday.end - monday.start == timedelta(hours=25)
    # 21:59Z on the 24th was Saturday 23:59 CEST; 00:30Z and 01:30Z on the 25th are both 02:30, once in
    # CEST and once in CET; 22:59Z is Sunday 23:59 CET.
    assert d.day == date(2026, 10, 25) and [a.title for a in d.yesterday.shown] == [
        "At2230", "At0030", "At0130", "At2259"]


def test_each_day_has_its_own_key() -> None:
    assert digest_key(date(2026, 12, 3)) == "daily:2026-12-03"
