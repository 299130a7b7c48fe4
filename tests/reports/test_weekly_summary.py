"""The weekly summary as the team reads it in #ops-weekly on Monday morning.

The seeded week and every expected figure, worked out by hand, are in :mod:`tests.reports.week`.
"""

from __future__ import annotations

from datetime import timedelta

from bot.db import transaction
from bot.notify.weekly_summary import run_due_summary
from bot.reports.chart import png_size
from tests.reports import seed
from tests.reports.week import DUE, M, at, seed_week
from tests.support.factories import ALICE, CAROL
from tests.support.harness import Harness
from tests.support.visible import visible_text


async def post_summary(h: Harness) -> str:
    assert await run_due_summary(h.bot.services)
    await h.drain()
    [message] = h.slack.messages("ops-weekly")
    return visible_text(message)


async def test_the_weekly_summary_shows_every_figure_of_the_week(harness: Harness) -> None:
    await seed_week(harness.bot.services.sessions)
    harness.clock.set(DUE)
    text = await post_summary(harness)
    assert text.startswith("📊 Weekly on-call summary\nMon 16 Nov 09:00 CET → Mon 23 Nov 09:00 CET · "
                           "compared with the week before\n")
    assert "posted late" not in text
    # Alerts by severity against the week before.
    assert "*Alerts*\n*10* · ↑ 3 from 7 (+43%)" in text
    assert "🔴 *Critical*\n*4* · ↑ 2 from 2 (+100%)" in text
    assert "🟠 *High*\n*3* · ↑ 1 from 2 (+50%)" in text
    assert "🟡 *Medium*\n*3* · ↑ 3 from 0" in text
    assert "🔵 *Low*\n*0* · ↓ 3 from 3 (−100%)" in text
    assert "⚪" not in text  # no info alerts in either week: no field for them
    # Response times, nearest-rank percentiles.
    assert "*Time to acknowledge*\np50 *4m 00s* · p90 *30m 00s*\n_6 alerts acknowledged_" in text
    assert "*Time to resolve*\np50 *10m 00s* · p90 *2h 00m*\n_9 alerts resolved_" in text
    assert "🔴 *Critical acknowledged within 5m*\n*67%* (2 of 3)" in text
    # Pages per person, out of hours in each person's zone.
    assert "*📟 Pages per person*: 8 pages, 5 out of hours" in text
    assert ("```\nPerson  Pages  Out of hours  By phone\nAlice       5             4         1\n"
            "Bob         2             1         1\nCarol       1             0         0\n```") in text
    assert ("*⏫ Escalations that reached a phone or step 3+*: 2\n• 🟠 TLSCertificateExpiry — step 4\n"
            "• 🔴 PaymentsDown — step 3, SMS") in text
    assert ("*🔊 Noisiest alerts* (fires and repeats)\n```\nFires  Alert\n    5  SlowResponses (api)\n"
            "    4  HighErrorRate (api)\n    3  QueueBacklog (worker)\n    1  DatabaseDown (db)\n"
            "    1  DiskAlmostFull (db)\n```") in text
    assert ("*🔁 Flapping* (fired 3+ times within 24 h)\n• QueueBacklog (worker) — fired 3 times, 3 within 24 h"
            in text)
    assert "*🔥 Incidents*: 3\n" in text
    assert "• *SEV1* #2 Payments failing — 1h 30m · ✅ post-mortem done" in text
    assert "• *SEV2* #3 Slow API responses — 4h 00m · 📝 post-mortem pending" in text
    assert "• *SEV2* #4 Disk pressure on db — ongoing, 1h 00m so far" in text
    assert "Cache stampede" not in text
    assert ("*⏳ Open longer than 24 h*: 1\n• 🟠 BackupFailed (platform) — open 9d 22h, since Fri 13 Nov 11:00 CET"
            in text)
    assert ("*📅 On call next week*\n*platform* — primary Alice until Mon 30 Nov 09:00 CET; "
            "backup Bob until Mon 30 Nov 09:00 CET") in text
    assert "📈 alerts per day are charted in the thread" in text


async def test_the_chart_is_a_png_in_the_summary_thread(harness: Harness) -> None:
    await seed_week(harness.bot.services.sessions)
    harness.clock.set(DUE)
    await post_summary(harness)
    [summary] = harness.slack.messages("ops-weekly")
    [upload] = [u for u in harness.slack.uploads if u.completed]
    assert upload.thread_ts == summary.ts and upload.channel == harness.slack.channel_id("ops-weekly")
    assert upload.name == "alerts-2026-11-16-to-2026-11-23.png"
    assert upload.title == "Alerts per day by severity, Mon 16 Nov – Mon 23 Nov 2026"
    png = upload.content or b""
    assert png_size(png) == (1000, 500)
    assert 10_000 < len(png) < 200_000
    assert harness.slack.thread("ops-weekly", summary.ts)[1].files  # shown under the summary


async def test_an_empty_week_still_reads_well(harness: Harness) -> None:
    harness.clock.set(DUE + timedelta(minutes=1))
    text = await post_summary(harness)
    assert text == (
        "📊 Weekly on-call summary\n"
        "Mon 16 Nov 09:00 CET → Mon 23 Nov 09:00 CET · compared with the week before\n"
        "🌙 *A quiet week: no alerts, no pages, no incidents.*\n"
        "*⏳ Open longer than 24 h*: none.\n"
        "*📅 On call next week*\n"
        "*platform* — primary Alice until Mon 30 Nov 09:00 CET; backup Bob until Mon 30 Nov 09:00 CET\n"
        "p50/p90 by nearest rank over the alerts raised in the period · "
        "out of hours is judged in each paged person's own time zone"
    )
    [message] = harness.slack.messages("ops-weekly")
    assert message.text == "Weekly on-call summary: a quiet week, no alerts."
    assert not harness.slack.uploads  # nothing to chart


async def test_calls_and_emails_are_pages_and_a_call_is_by_phone(harness: Harness) -> None:
    """A phone call at night interrupts as an SMS does; an email page is a page too."""
    async with transaction(harness.bot.services.sessions) as s:
        down = await seed.alert(s, "PaymentsDown", "critical", at(18, 2), service="payments", acked_after=8 * M,
                                acked_by=ALICE, resolved_after=60 * M)
        seed.page(s, down, ALICE, "slack", at(18, 2), step=1)
        seed.page(s, down, ALICE, "call", at(18, 2, 5), step=2)
        seed.page(s, down, CAROL, "email", at(18, 2, 5), step=2)
    harness.clock.set(DUE)
    text = await post_summary(harness)
    assert "*📟 Pages per person*: 3 pages, 3 out of hours" in text, text
    assert ("```\nPerson  Pages  Out of hours  By phone\nAlice       2             2         1\n"
            "Carol       1             1         0\n```") in text
    assert "*⏫ Escalations that reached a phone or step 3+*: 1\n• 🔴 PaymentsDown — step 2, call" in text
