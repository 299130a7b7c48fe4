"""What people type after /oncall override @bob and /oncall take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.oncall.timeparse import (
    SpanError,
    SpanInPastError,
    SpanOrderError,
    SpanSyntaxError,
    SpanTooLongError,
    parse_span,
    parse_when,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 6, 17, 0, tzinfo=BERLIN)  # a Friday, 17:00


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("4h", NOW, NOW + timedelta(hours=4)),
        ("2h30m", NOW, NOW + timedelta(hours=2, minutes=30)),
        ("90 minutes", NOW, NOW + timedelta(minutes=90)),
        ("for 1d", NOW, NOW + timedelta(days=1)),
        ("until fri 18:00", NOW, local(2026, 11, 6, 18, 0)),  # today: it is before 18:00
        ("until fri 17:00", NOW, local(2026, 11, 13, 17, 0)),  # strictly after now: next week
        ("until Friday 9am", NOW, local(2026, 11, 13, 9, 0)),
        ("until mon 09:00", NOW, local(2026, 11, 9, 9, 0)),
        ("until tomorrow 09:00", NOW, local(2026, 11, 7, 9, 0)),
        ("until today 23:30", NOW, local(2026, 11, 6, 23, 30)),
        ("until 18:00", NOW, local(2026, 11, 6, 18, 0)),
        ("until 08:00", NOW, local(2026, 11, 7, 8, 0)),
        ("until 6:30pm", NOW, local(2026, 11, 6, 18, 30)),
        ("until midnight", NOW, local(2026, 11, 7, 0, 0)),
        ("till noon", NOW, local(2026, 11, 7, 12, 0)),
        ("until 2026-12-01 18:00", NOW, local(2026, 12, 1, 18, 0)),
        ("UNTIL 2026-12-01T18:00", NOW, local(2026, 12, 1, 18, 0)),
        ("fri 18:00", NOW, local(2026, 11, 6, 18, 0)),
        ("tomorrow 09:00", NOW, local(2026, 11, 7, 9, 0)),
        ("from mon 09:00 until wed 09:00", local(2026, 11, 9, 9, 0), local(2026, 11, 11, 9, 0)),
        ("from wed 09:00 until mon 09:00", local(2026, 11, 11, 9, 0), local(2026, 11, 16, 9, 0)),
        ("from 22:00 to 06:00", local(2026, 11, 6, 22, 0), local(2026, 11, 7, 6, 0)),
        ("from tomorrow 09:00 for 8h", local(2026, 11, 7, 9, 0), local(2026, 11, 7, 17, 0)),
        ("from now until 20:00", NOW, local(2026, 11, 6, 20, 0)),
        ("  until   fri   18:00 ", NOW, local(2026, 11, 6, 18, 0)),
    ],
)
def test_spans(text: str, start: datetime, end: datetime) -> None:
    assert parse_span(text, now=NOW, zone="Europe/Berlin") == (start, end)


def test_results_are_utc() -> None:
    start, end = parse_span("until fri 18:00", now=NOW, zone=BERLIN)
    assert start.tzinfo == UTC and end.tzinfo == UTC
    assert end == datetime(2026, 11, 6, 17, 0, tzinfo=UTC)


def test_the_callers_zone_decides_what_18_00_means() -> None:
    _, end = parse_span("until 18:00", now=NOW, zone="America/New_York")
    assert end == datetime(2026, 11, 6, 18, 0, tzinfo=ZoneInfo("America/New_York"))


def test_weekday_later_today_vs_earlier_today() -> None:
    friday_morning = local(2026, 11, 6, 8, 0)
    assert parse_span("until fri 18:00", now=friday_morning, zone=BERLIN)[1] == local(2026, 11, 6, 18, 0)
    friday_evening = local(2026, 11, 6, 18, 0)
    assert parse_span("until fri 18:00", now=friday_evening, zone=BERLIN)[1] == local(2026, 11, 13, 18, 0)


def test_durations_are_exact_across_dst() -> None:
    before_change = datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN)
    start, end = parse_span("12h", now=before_change, zone=BERLIN)
    assert end - start == timedelta(hours=12)
    assert end.astimezone(BERLIN).hour == 9  # the extra hour of 25 October is elapsed time too


def test_wall_clock_in_a_dst_gap_resolves_like_a_handoff() -> None:
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    _, end = parse_span("until sun 02:30", now=saturday, zone=BERLIN)
    assert end == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_parse_when_anchors_weekdays_on_after() -> None:
    wednesday = local(2026, 11, 11, 9, 0)
    assert parse_when("mon 09:00", after=wednesday, now=NOW, zone=BERLIN) == local(2026, 11, 16, 9, 0)
    assert parse_when("tomorrow 09:00", after=wednesday, now=NOW, zone=BERLIN) == local(2026, 11, 7, 9, 0)


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("", SpanSyntaxError, "for how long"),
        ("4x", SpanSyntaxError, "'4x' as a duration"),
        ("for soon", SpanSyntaxError, "'soon' as a duration"),
        ("whenever", SpanSyntaxError, "cannot read 'whenever'"),
        ("until fri", SpanSyntaxError, "no time of day"),
        ("until tomorrow", SpanSyntaxError, "no time of day"),
        ("until 2026-12-01", SpanSyntaxError, "no time of day"),
        ("until 2026-02-30 10:00", SpanSyntaxError, "not a date"),
        ("until 25:00", SpanSyntaxError, "not a time of day"),
        ("until 13pm", SpanSyntaxError, "not a time of day"),
        ("until fri teatime", SpanSyntaxError, "'teatime' as a time of day"),
        ("from mon 09:00", SpanSyntaxError, "not when it ends"),
        ("until 2026-01-01 18:00", SpanInPastError, "Thu 2026-01-01 18:00 CET is in the past"),
        ("until today 09:00", SpanInPastError, "in the past"),
        ("from today 08:00 until 20:00", SpanInPastError, "the start"),
        ("0m", SpanOrderError, "no time at all"),
        ("from tomorrow 10:00 until tomorrow 09:00", SpanOrderError, "not after the start"),
        ("from 2026-12-02 10:00 until 2026-12-01 10:00", SpanOrderError, "not after the start"),
        ("100d", SpanTooLongError, "longer than the 90d"),
        ("until 2027-06-01 09:00", SpanTooLongError, "longer than"),
    ],
)
def test_errors_say_what_was_wrong(text: str, error: type[SpanError], says: str) -> None:
    with pytest.raises(error, match=says.replace("(", r"\(")):
        parse_span(text, now=NOW, zone="Europe/Berlin")


def test_errors_are_value_errors_and_max_span_is_configurable() -> None:
    with pytest.raises(ValueError):
        parse_span("3d", now=NOW, zone=BERLIN, max_span=timedelta(days=2))
    assert parse_span("3d", now=NOW, zone=BERLIN, max_span=timedelta(days=3))[1] == NOW + timedelta(days=3)


def test_a_start_seconds_in_the_past_is_now() -> None:
    just_after = local(2026, 11, 7, 9, 0, 20)
    start, _ = parse_span("from today 09:00 until 12:00", now=just_after, zone=BERLIN)
    assert start == just_after
