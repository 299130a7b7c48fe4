"""Uptime from the outage rows and latency from the hourly histograms, checked against hand-worked numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from bot.db import create_engine, session_factory, transaction
from bot.monitors.models import LATENCY_BUCKETS_MS, CheckOutage, CheckRollup, MonitorState
from bot.monitors.uptime import (
    CheckState,
    Span,
    daily,
    downtime,
    latency_percentiles,
    load_histories,
    state_of,
    uptime,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_an_outage_across_midnight_is_split_between_the_two_days() -> None:
    spans = [Span(at(20, 23, 0), at(21, 1, 0))]  # 23:00 → 01:00: an hour each side of midnight
    days = {d.day: d.uptime for d in daily(spans, watching_since=at(1), now=NOW, days=5)}
    assert days[date(2026, 11, 20)] == pytest.approx(23 / 24)
    assert days[date(2026, 11, 21)] == pytest.approx(23 / 24)
    assert days[date(2026, 11, 22)] == 1.0
    assert list(days) == [date(2026, 11, 20) + timedelta(days=i) for i in range(5)]  # oldest first, today last
    assert downtime(spans, watching_since=at(1), start=at(20), end=at(22)) == timedelta(hours=2)


def test_an_outage_still_going_on_counts_up_to_now() -> None:
    spans = [Span(at(24, 9, 0), None)]
    assert uptime(spans, watching_since=at(1), start=at(24), end=NOW) == pytest.approx(9 / 12)
    today = daily(spans, watching_since=at(1), now=NOW, days=1)[0]
    assert (today.day, today.uptime) == (date(2026, 11, 24), pytest.approx(9 / 12))


def test_before_watching_began_there_is_no_data_not_full_uptime() -> None:
    since = at(23, 12, 0)
    spans = [Span(at(23, 18, 0), at(23, 21, 0))]  # three hours down in the twelve watched that day
    days = daily(spans, watching_since=since, now=NOW, days=3)
    assert [d.uptime for d in days] == [None, pytest.approx(9 / 12), 1.0]
    assert uptime([], watching_since=since, start=at(20), end=at(22)) is None
    assert uptime([], watching_since=None, start=at(20), end=NOW) is None  # never watched
    # 7 days asked, 24 h watched: the share is of the watched part only
    assert uptime(spans, watching_since=since, start=NOW - 7 * DAY, end=NOW) == pytest.approx(21 / 24)


def test_overlapping_outage_rows_are_not_counted_twice() -> None:
    spans = [Span(at(22, 10), at(22, 12)), Span(at(22, 11), at(22, 13)), Span(at(22, 13), at(22, 13))]
    assert downtime(spans, watching_since=at(1), start=at(22), end=at(23)) == timedelta(hours=3)


def _rollup(buckets: list[int]) -> CheckRollup:
    return CheckRollup(check="api", hour=at(24, 10), probes=sum(buckets), failures=0, latency_ms_sum=0.0,
                       buckets=buckets)


def test_latency_percentiles_are_interpolated_inside_their_bucket() -> None:
    width = len(LATENCY_BUCKETS_MS) + 1
    # 100 probes: 40 under 25 ms, 40 in 25–50, 15 in 50–100, 5 in 100–250
    counts = [40, 40, 15, 5] + [0] * (width - 4)
    found = latency_percentiles([_rollup(counts[:]), _rollup([0] * width)])
    assert found.probes == 100
    assert found.p50 == pytest.approx(25 + 25 * (50 - 40) / 40)  # 31.25 ms
    assert found.p95 == pytest.approx(100.0)  # the 95th of 100 is the last of the 50–100 bucket
    assert not found.p95_over
    slow = latency_percentiles([_rollup([0] * (width - 1) + [3])])
    assert (slow.p50, slow.p50_over) == (float(LATENCY_BUCKETS_MS[-1]), True)
    assert latency_percentiles([_rollup([1, 2])]).probes == 0  # a malformed histogram is skipped
    assert latency_percentiles([]).p50 is None


def _state(**fields: object) -> MonitorState:
    base: dict[str, object] = {"key": "check/api", "watching_since": at(1), "next_due_at": NOW,
                               "alerted": False, "slow_alerted": False}
    return MonitorState(**{**base, **fields})


def test_the_state_of_a_check() -> None:
    assert state_of(None) is CheckState.UNKNOWN
    assert state_of(_state()) is CheckState.UNKNOWN  # watched but not probed yet
    assert state_of(_state(last_probe_at=NOW)) is CheckState.UP
    assert state_of(_state(last_probe_at=NOW, down_since=NOW)) is CheckState.UP  # not confirmed yet
    assert state_of(_state(last_probe_at=NOW, down_since=NOW, alerted=True)) is CheckState.DOWN
    assert state_of(_state(last_probe_at=NOW, slow_alerted=True)) is CheckState.DEGRADED


async def test_histories_come_from_one_query_per_table(db_url: str) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    width = len(LATENCY_BUCKETS_MS) + 1
    try:
        async with transaction(sessions) as s:
            s.add(_state(last_probe_at=NOW, down_since=at(24, 11), alerted=True))
            s.add_all([CheckOutage(check="api", started_at=at(1) - 40 * DAY, ended_at=at(1) - 39 * DAY,
                                   reason="old"),  # ended before `since`: not read
                       CheckOutage(check="api", started_at=at(24, 11), ended_at=None, reason="503"),
                       CheckOutage(check="other", started_at=at(24, 0), ended_at=None, reason="")])
            s.add_all([CheckRollup(check="api", hour=at(24, 10), probes=4, failures=0, latency_ms_sum=80.0,
                                   buckets=[4] + [0] * (width - 1)),
                       CheckRollup(check="api", hour=at(20, 10), probes=4, failures=0, latency_ms_sum=80.0,
                                   buckets=[0] * (width - 1) + [4])])  # days ago: not in the 24 h
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        async with sessions() as s:
            found = await load_histories(s, ["api", "never-seen"], since=NOW - 30 * DAY, now=NOW)
        assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 3
        api = found["api"]
        assert api.state is CheckState.DOWN
        assert api.outages == [Span(at(24, 11), None)]
        assert api.uptime(at(24), NOW) == pytest.approx(11 / 12)
        assert api.latency.probes == 4 and not api.latency.p95_over
        assert found["never-seen"].state is CheckState.UNKNOWN
        assert found["never-seen"].uptime(NOW - DAY, NOW) is None
    finally:
        await engine.dispose()
