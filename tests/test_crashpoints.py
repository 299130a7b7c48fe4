"""The crash-point variable: what it accepts, and that a misspelt point is refused, not ignored."""

from __future__ import annotations

import pytest

from bot import crashpoints
from bot.crashpoints import CrashPointError, Point


@pytest.mark.parametrize(("value", "expected"), [
    ("page_sent", (Point.PAGE_SENT, 1)), ("page_sent@3", (Point.PAGE_SENT, 3)),
    (" alert_posted@1 ", (Point.ALERT_POSTED, 1)),
])
def test_a_point_and_how_many_times_to_pass_it(value: str, expected: tuple[Point, int]) -> None:
    assert crashpoints.parse(value) == expected


@pytest.mark.parametrize(("value", "says"), [
    ("page_snet", "no crash point named 'page_snet' (known: alert_stored, alert_claimed"),
    ("page_sent@0", "a whole number from 1"), ("page_sent@two", "a whole number from 1"),
    ("page_sent@²", "a whole number from 1"), ("page_sent@", "a whole number from 1"),
])
def test_a_bad_value_is_refused_with_what_is_wrong(value: str, says: str) -> None:
    with pytest.raises(CrashPointError) as err:
        crashpoints.parse(value)
    assert says in str(err.value)


def test_unset_the_hook_does_nothing_and_a_bad_value_is_reported_for_serve_to_refuse() -> None:
    off, problem = crashpoints._from_env({})
    assert problem is None
    off(Point.PAGE_SENT)  # returns: this process is still here
    _, problem = crashpoints._from_env({crashpoints.ENV: "nope"})
    assert problem is not None and problem.startswith("WATCHSTANDER_CRASH_AT='nope': no crash point named 'nope'")
