"""`/oncall report [7d|30d]`: the summary on demand, shown only to the caller, the chart in their DM."""

from __future__ import annotations

from datetime import timedelta

from bot.reports.chart import png_size
from tests.reports.week import DUE, seed_week
from tests.support.factories import ALICE, BOB
from tests.support.harness import Harness
from tests.support.oncall_helpers import oncall


async def report_on_seeded_weeks(h: Harness, text: str, *, user: str) -> str:
    """``/oncall <text>`` on Monday 23 Nov 09:00 Berlin, after the seeded weeks; what the caller sees."""
    await seed_week(h.bot.services.sessions)
    h.clock.set(DUE)
    shown = await oncall(h, text, user=user)
    await h.drain()  # the chart goes out after the answer
    return shown


async def test_report_7d_shows_the_week_to_the_caller_only(harness: Harness) -> None:
    text = await report_on_seeded_weeks(harness, "report 7d", user=BOB)
    assert text.startswith("📊 On-call report: last 7 days\nMon 16 Nov 09:00 CET → Mon 23 Nov 09:00 CET · "
                           "compared with the week before\n")
    assert "*Alerts*\n*10* · ↑ 3 from 7 (+43%)" in text
    assert "*Time to acknowledge*\np50 *4m 00s* · p90 *30m 00s*" in text
    assert "📈 the chart of alerts per day is in your DM with Watchstander" in text
    assert not harness.slack.messages("ops-weekly") and not harness.slack.messages("platform-alerts")
    [chart] = [u for u in harness.slack.uploads if u.completed]
    [dm] = harness.slack.dms(BOB)
    assert chart.channel == dm.channel and chart.initial_comment == (
        "📈 Alerts per day, last 7 days (your `/oncall report`).")
    assert png_size(chart.content or b"") == (1000, 500)


async def test_report_30d_compares_with_the_30_days_before(harness: Harness) -> None:
    text = await report_on_seeded_weeks(harness, "report 30d", user=ALICE)
    assert text.startswith("📊 On-call report: last 30 days\nSat 24 Oct 10:00 CEST → Mon 23 Nov 09:00 CET · "
                           "compared with the 30 days before\n")
    assert "*Alerts*\n*17* · ↑ 17 from 0" in text  # both seeded weeks; nothing before them
    assert "🔵 *Low*\n*3* · ↑ 3 from 0" in text


async def test_a_bare_report_is_the_last_7_days_and_a_quiet_one_says_so(harness: Harness) -> None:
    harness.clock.set(DUE + timedelta(hours=3))
    text = await oncall(harness, "report", user=ALICE)
    await harness.drain()
    assert text.startswith("📊 On-call report: last 7 days\n")
    assert "🌙 *A quiet week: no alerts, no pages, no incidents.*" in text
    assert not harness.slack.uploads and not harness.slack.dms(ALICE)


async def test_a_bad_period_is_explained(harness: Harness) -> None:
    for bad in ("9y", "0d", "91d", "12h", "lots"):
        text = await oncall(harness, f"report {bad}", user=ALICE)
        assert text == (f"⚠️ `{bad}` is not a report period. Try `/oncall report 7d` or `/oncall report 30d` "
                        "(any whole number of days from 1d to 90d).")
    await harness.drain()
    assert not harness.slack.uploads
