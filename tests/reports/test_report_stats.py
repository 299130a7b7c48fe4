"""The summary's definitions, one by one: percentiles, out of hours, flapping, and which week is due."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.config import OutOfHours
from bot.reports.stats import is_out_of_hours, most_fires_within, percentile
from bot.reports.weekly import due_week
from bot.reports.window import scheduled_before, week_ending
from tests.support.factories import make_config

BERLIN, NEW_YORK, TOKYO = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
NIGHTS_AND_WEEKENDS = OutOfHours()  # 19:00–08:00 and weekends
M = timedelta(minutes=1)


def minutes(*values: int) -> list[timedelta]:
    return [v * M for v in values]


def test_percentiles_are_nearest_rank() -> None:
    acks = minutes(30, 1, 10, 4, 2, 6)  # sorted: 1 2 4 6 10 30
    assert percentile(acks, 50) == 4 * M  # rank ⌈3⌉ = 3 (interpolation would say 5m)
    assert percentile(acks, 90) == 30 * M  # rank ⌈5.4⌉ = 6 (interpolation would say 20m)
    one_to_ten = minutes(*range(1, 11))
    assert percentile(one_to_ten, 90) == 9 * M  # rank 9 exactly: 0.9 × 10 is not 9.000000000000002 here
    assert percentile(one_to_ten, 50) == 5 * M
    assert percentile(minutes(7), 50) == percentile(minutes(7), 90) == 7 * M
    assert percentile([], 90) is None


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1), st.integers(min_value=1, max_value=100))
def test_a_percentile_is_a_value_with_at_least_p_percent_at_or_below_it(values: list[int], p: int) -> None:
    result = percentile(minutes(*values), p)
    assert result is not None and result in minutes(*values)
    at_or_below = sum(v * M <= result for v in values)
    below = sum(v * M < result for v in values)
    assert at_or_below * 100 >= p * len(values) > below * 100


def test_out_of_hours_is_judged_on_each_persons_own_wall_clock() -> None:
    instant = datetime(2026, 11, 19, 19, 30, tzinfo=UTC)  # a Thursday
    assert is_out_of_hours(instant, BERLIN, NIGHTS_AND_WEEKENDS)  # 20:30 in Berlin
    assert not is_out_of_hours(instant, NEW_YORK, NIGHTS_AND_WEEKENDS)  # 14:30 in New York
    assert is_out_of_hours(instant, TOKYO, NIGHTS_AND_WEEKENDS)  # 04:30 Friday in Tokyo


def test_out_of_hours_edges_weekends_and_other_rules() -> None:
    def berlin(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)

    assert is_out_of_hours(berlin(19, 19, 0), BERLIN, NIGHTS_AND_WEEKENDS)  # 19:00 is night
    assert not is_out_of_hours(berlin(19, 18, 59), BERLIN, NIGHTS_AND_WEEKENDS)
    assert is_out_of_hours(berlin(19, 7, 59), BERLIN, NIGHTS_AND_WEEKENDS)
    assert not is_out_of_hours(berlin(19, 8, 0), BERLIN, NIGHTS_AND_WEEKENDS)  # 08:00 is work
    assert is_out_of_hours(berlin(21, 12), BERLIN, NIGHTS_AND_WEEKENDS)  # Saturday noon
    weekdays_only_nights = OutOfHours(weekends=False)
    assert not is_out_of_hours(berlin(21, 12), BERLIN, weekdays_only_nights)
    early_hours = OutOfHours(start=time(0, 0), end=time(6, 0), weekends=False)  # does not wrap
    assert is_out_of_hours(berlin(19, 5, 59), BERLIN, early_hours)
    assert not is_out_of_hours(berlin(19, 23), BERLIN, early_hours)
    assert not is_out_of_hours(berlin(19, 3), BERLIN, OutOfHours(start=time(8), end=time(8), weekends=False))


def test_flapping_counts_fires_inside_a_sliding_24_hours() -> None:
    def hours(*values: float) -> list[datetime]:
        return [datetime(2026, 11, 19, tzinfo=UTC) + timedelta(hours=v) for v in values]

    assert most_fires_within(hours(0, 4, 8)) == 3
    assert most_fires_within(hours(0, 23.9, 47)) == 2  # never three within a day
    assert most_fires_within(hours(0, 24, 48)) == 1  # exactly 24 h apart: the span is half-open
    assert most_fires_within(hours(30, 0, 31, 29, 100)) == 3
    assert most_fires_within([]) == 0


def test_the_due_week_is_the_latest_scheduled_instant_and_follows_local_time() -> None:
    nine = time(9, 0)
    monday_nine = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert scheduled_before(monday_nine, weekday="mon", at=nine, zone=BERLIN) == monday_nine
    just_before = monday_nine - timedelta(microseconds=1)
    assert scheduled_before(just_before, weekday="mon", at=nine, zone=BERLIN) == monday_nine - timedelta(days=7)
    sunday = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
    assert scheduled_before(sunday, weekday="mon", at=nine, zone=BERLIN) == monday_nine
    # Summer time began Sunday 29 Mar 2026: that week has 167 hours and both ends are 09:00 local.
    after_dst = scheduled_before(datetime(2026, 3, 31, tzinfo=UTC), weekday="mon", at=nine, zone=BERLIN)
    assert after_dst == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    week = week_ending(after_dst, BERLIN, nine)
    assert week.start == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
    assert week.length == timedelta(hours=167) and week.days == 7


def test_weeks_tile_and_each_is_due_once_when_the_summary_time_is_skipped_or_repeated() -> None:
    """Sunday 02:30 in Berlin does not exist on 28 Mar 2027 and happens twice on 31 Oct 2027. Looking
    every 10 minutes (as the catch-up check does) from March to November, each week is due exactly
    once, and each starts where the one before ended: no hour of alerts falls between two summaries."""
    config = make_config('summary: {weekday: sun, time: "02:30"}\n')
    now, until = datetime(2027, 3, 7, tzinfo=UTC), datetime(2027, 11, 14, tzinfo=UTC)
    weeks = []
    while now < until:
        week = due_week(config, now).window
        if week != (weeks or [None])[-1]:
            weeks.append(week)
        now += 10 * M
    assert len({w.start for w in weeks}) == len(weeks) == 37
    assert all(before.end == after.start for before, after in zip(weeks, weeks[1:], strict=False))
    lengths = {w.end.date().isoformat(): w.length / timedelta(hours=1) for w in weeks if w.length != timedelta(days=7)}
    # The skipped 02:30 happens at 03:30 CEST (01:30Z, as the hour before would say) and the repeated
    # one at its first occurrence, 02:30 CEST: the hour gained or lost falls in the week after each.
    assert lengths == {"2027-04-04": 167, "2027-11-07": 169}
