"""The weekly summary by email (``summary: {email: [...]}``), over real SMTP: one email a week to
exactly the listed addresses, every figure of the Slack summary in a plain-text part, and an HTML
part that shows the chart of alerts per day inline and an alert's title as text, whatever it holds.

The seeded week and its figures, worked out by hand, are in :mod:`tests.reports.week`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import ManualClock
from bot.db import transaction
from bot.notify.email_weekly import render_weekly_email
from bot.notify.weekly_summary import WEEKLY, run_due_summary
from bot.oncall.shifts import Origin, Role, Shift
from bot.outbox import OutboxMessage
from bot.reports.chart import png_size
from bot.reports.queries import EscalationReach, NoisyAlert, OpenGroup
from bot.reports.stats import DurationStats
from bot.reports.summary import (
    AckTarget,
    CheckUptime,
    Flapping,
    PersonPages,
    TeamRota,
    WeeklySummary,
)
from bot.reports.window import ReportWindow
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SandboxEmail, SmtpStandIn
from bot.slack.blocks.report import ReportView
from tests.email.conftest import start_mailer
from tests.email.mail import email_config
from tests.reports import seed
from tests.reports.week import DUE, at, seed_week
from tests.support.factories import ALICE, BOB
from tests.support.harness import Harness, start_harness

ENG, OPS = "eng@example.com", "ops@example.com"
SUMMARY_EMAIL = f"summary: {{email: [{ENG}, {OPS}]}}\n"
HOSTILE = '<script>alert("x")</script> & <b>DiskFull</b>'
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def mail_summary(h: Harness, smtp: SmtpStandIn) -> SandboxEmail:
    assert await run_due_summary(h.bot.services)
    await h.drain()
    [mail] = smtp.messages
    return mail


async def mail_seeded_week(slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> SandboxEmail:
    """The summary of the week of :mod:`tests.reports.week`, mailed at its time, with Slack's post beside it."""
    async with start_mailer(slack, clock, db_url, smtp, email_config(SUMMARY_EMAIL)) as h:
        await seed_week(h.bot.services.sessions)
        clock.set(DUE)
        mail = await mail_summary(h, smtp)
        assert len(h.slack.messages("ops-weekly")) == 1  # the Slack summary still goes out
    return mail


def images(mail: SandboxEmail) -> list[EmailMessage]:
    return [part for part in mail.message.walk() if part.get_content_maintype() == "image"]


async def test_the_weekly_email_goes_to_the_listed_addresses_with_every_figure(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    mail = await mail_seeded_week(slack, clock, db_url, smtp)
    assert mail.rcpt_tos == (ENG, OPS)
    assert mail.header("To") == f"{ENG}, {OPS}"
    assert mail.subject == "Watchstander weekly summary — 16–22 Nov: 10 alerts (+3)"
    text = mail.text or ""
    assert text.startswith("Weekly on-call summary\n"
                           "Mon 16 Nov 09:00 CET → Mon 23 Nov 09:00 CET · compared with the week before\n\n")
    assert "late" not in text.split("\n\n")[0]
    assert ("Alerts: 10 · ↑ 3 from 7 (+43%)\n"
            "  - [CRITICAL] 4 critical — ↑ 2 from 2 (+100%)\n"
            "  - [HIGH] 3 high — ↑ 1 from 2 (+50%)\n"
            "  - [MEDIUM] 3 medium — ↑ 3 from 0\n"
            "  - [LOW] 0 low — ↓ 3 from 3 (−100%)\n\n") in text
    assert "[INFO]" not in text  # no info alerts in either week
    assert ("Response times\n"
            "  - Time to acknowledge — p50 4m 00s · p90 30m 00s · 6 alerts acknowledged\n"
            "  - Time to resolve — p50 10m 00s · p90 2h 00m · 9 alerts resolved\n"
            "  - [CRITICAL] Critical acknowledged within 5m — 67% (2 of 3)\n\n") in text
    assert ("Pages per person: 8 pages, 5 out of hours\n"
            "  Person  Pages  Out of hours  By phone\n"
            "  Alice       5             4         1\n"
            "  Bob         2             1         1\n"
            "  Carol       1             0         0\n\n") in text
    assert ("Escalations that reached a phone or step 3+: 2\n"
            "  - [HIGH] TLSCertificateExpiry — step 4\n"
            "  - [CRITICAL] PaymentsDown — step 3, SMS\n\n") in text
    assert ("Noisiest alerts (fires and repeats)\n"
            "  Fires  Alert\n"
            "      5  SlowResponses (api)\n"
            "      4  HighErrorRate (api)\n"
            "      3  QueueBacklog (worker)\n"
            "      1  DatabaseDown (db)\n"
            "      1  DiskAlmostFull (db)\n\n") in text
    assert ("Flapping (fired 3+ times within 24 h)\n"
            "  - QueueBacklog (worker) — fired 3 times, 3 within 24 h\n\n") in text
    assert ("Incidents: 3\n"
            "  - [SEV1] #2 Payments failing — 1h 30m · post-mortem done\n"
            "  - [SEV2] #3 Slow API responses — 4h 00m · post-mortem pending\n"
            "  - [SEV2] #4 Disk pressure on db — ongoing, 1h 00m so far\n\n") in text
    assert "Cache stampede" not in text  # the week before's
    assert ("Open longer than 24 h: 1\n"
            "  - [HIGH] BackupFailed (platform) — open 9d 22h, since Fri 13 Nov 11:00 CET\n\n") in text
    assert ("On call next week\n"
            "  - platform — primary Alice until Mon 30 Nov 09:00 CET; backup Bob until Mon 30 Nov 09:00 CET\n\n"
            "-- \n"
            "Watchstander · https://watch.example.com\n"
            "Notes: p50/p90 by nearest rank over the alerts raised in the period;\n"
            "out of hours is judged in each paged person's own time zone.\n"
            "You get this summary because your address is under summary.email in Watchstander's config.\n") in text
    assert "U0ALICE" not in text and "<" not in text and "*" not in text  # named, and no Slack markup


async def test_the_html_part_shows_the_chart_inline(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    mail = await mail_seeded_week(slack, clock, db_url, smtp)
    html = mail.html or ""
    assert ('<img src="cid:chart" alt="Bar chart: alerts per day by severity, Mon 16 Nov – Mon 23 Nov 2026, '
            'days in Europe/Berlin" width="600"') in html
    assert "<title>Watchstander weekly summary — 16–22 Nov: 10 alerts (+3)</title>" in html
    assert "max-width:640px" in html and "Pages per person: 8 pages, 5 out of hours" in html
    assert '<td align="left" style="padding:3px 16px 3px 0;">Alice</td>' in html
    [image] = images(mail)
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == "<chart>"
    assert image.get_content_disposition() == "inline"
    assert image.get_filename() == "alerts-2026-11-16-to-2026-11-23.png"
    png = image.get_payload(decode=True)
    assert isinstance(png, bytes) and png.startswith(PNG_MAGIC) and png_size(png) == (1000, 500)
    # The image is related to the HTML part, which the text part is an alternative to.
    assert mail.message.get_content_type() == "multipart/alternative"
    related = mail.message.get_payload()[1]
    assert isinstance(related, EmailMessage) and related.get_content_type() == "multipart/related"
    assert [p.get_content_type() for p in related.iter_parts()] == ["text/html", "image/png"]


async def test_a_hostile_title_is_text_in_the_html_part(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    async with start_mailer(slack, clock, db_url, smtp, email_config(SUMMARY_EMAIL)) as h:
        async with transaction(h.bot.services.sessions) as s:
            hostile = await seed.alert(s, HOSTILE, "critical", at(18, 10), service="db", resolved_after=timedelta(hours=1))
            seed.page(s, hostile, ALICE, "sms", at(18, 10), step=3)
        clock.set(DUE)
        mail = await mail_summary(h, smtp)
    html, text = mail.html or "", mail.text or ""
    assert "<script" not in html and "<b>DiskFull" not in html
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;DiskFull&lt;/b&gt;"
    assert f"<strong>{escaped}</strong>" in html  # the escalation
    assert f">{escaped} (db)</td>" in html  # the noisiest table
    assert f"  - [CRITICAL] {HOSTILE} — step 3, SMS\n" in text  # plain text: shown as typed
    assert f"      1  {HOSTILE} (db)\n" in text


async def test_sent_once_when_run_twice_and_after_a_restart(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    config = email_config(SUMMARY_EMAIL)
    async with start_mailer(slack, clock, db_url, smtp, config) as h:
        await seed_week(h.bot.services.sessions)
        clock.set(DUE + timedelta(seconds=5))
        assert await run_due_summary(h.bot.services)
        assert not await run_due_summary(h.bot.services)  # the catch-up check, a few minutes later
        await h.drain()
        async with h.bot.services.sessions() as s:
            row = await s.scalar(select(OutboxMessage).where(OutboxMessage.key.endswith(":email")))
        assert row is not None and row.key == "weekly-summary:2026-11-16T08:00:00+00:00:email"
        assert row.sent_at is not None and row.result["refused"] == {}
    clock.advance(timedelta(minutes=20))
    async with start_mailer(slack, clock, db_url, smtp, config) as restarted:
        assert not await run_due_summary(restarted.bot.services)
        await restarted.drain()
    assert len(smtp.messages) == 1
    assert len(slack.messages("ops-weekly")) == 1


async def test_a_week_without_alerts_has_no_chart(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    async with start_mailer(slack, clock, db_url, smtp, email_config(SUMMARY_EMAIL)) as h:
        clock.set(DUE + timedelta(minutes=1))
        mail = await mail_summary(h, smtp)
    assert mail.subject == "Watchstander weekly summary — 16–22 Nov: 0 alerts (no change)"
    assert images(mail) == [] and "<img" not in (mail.html or "")
    assert mail.message.get_content_type() == "multipart/alternative"
    assert (mail.text or "").startswith(
        "Weekly on-call summary\n"
        "Mon 16 Nov 09:00 CET → Mon 23 Nov 09:00 CET · compared with the week before\n\n"
        "A quiet week: no alerts, no pages, no incidents.\n\n"
        "Open longer than 24 h\n  None.\n\n"
        "On call next week\n"
        "  - platform — primary Alice until Mon 30 Nov 09:00 CET; backup Bob until Mon 30 Nov 09:00 CET\n\n-- \n")


async def test_without_summary_email_no_email_is_queued(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    async with start_mailer(slack, clock, db_url, smtp) as h:
        clock.set(DUE)
        assert await run_due_summary(h.bot.services)
        await h.drain()
        async with h.bot.services.sessions() as s:
            keys = list(await s.scalars(select(OutboxMessage.key).where(OutboxMessage.key.startswith("weekly-"))))
    assert keys == ["weekly-summary:2026-11-16T08:00:00+00:00:post"]
    assert smtp.messages == []


async def test_without_smtp_the_email_is_queued_and_recorded_as_skipped(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=email_config(SUMMARY_EMAIL),
                             background=False) as h:
        clock.set(DUE)
        assert await run_due_summary(h.bot.services)
        await h.drain()
        async with h.bot.services.sessions() as s:
            row = await s.scalar(select(OutboxMessage).where(OutboxMessage.key.endswith(":email")))
    assert row is not None and row.sent_at is not None and row.failed_at is None
    assert row.result == {"skipped": "email is not set up"}


# --- the text, rendered without a database ------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
END = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Mon 30 Nov 09:00 CET
NAMES = {ALICE: "Alice", BOB: "Bob"}


def summary(**changes: object) -> WeeklySummary:
    window = ReportWindow.ending(END, timedelta(days=7))
    fields: dict[str, object] = dict(
        window=window, previous=window.previous(), zone=BERLIN,
        by_severity={"critical": 1, "low": 2, "info": 1}, previous_by_severity={"critical": 1, "high": 3},
        per_day=[(date(2026, 11, 23) + timedelta(days=i), {"critical": 0}) for i in range(8)],
        time_to_ack=DurationStats.of([timedelta(minutes=3)]), time_to_resolve=DurationStats.of([]),
        critical_ack=AckTarget(timedelta(minutes=5), 0, 0),
        pages=[PersonPages(ALICE, 1, 1, 0, "Europe/Berlin")],
        escalations=[EscalationReach(i, f"Escalated{i}", "low", 3, False) for i in range(12)],
        noisiest=[NoisyAlert("Flappy", None, 4)],
        flapping=[Flapping("Flappy", None, 4, 3)],
        incidents=[],
        long_open_total=14,
        long_open=[OpenGroup(i, f"Old{i}", "info", None, END - timedelta(days=2, hours=i)) for i in range(10)],
        next_week=[TeamRota("platform", [Shift(BOB, Role.PRIMARY, END, END + timedelta(days=1), Origin.ROTATION),
                                         Shift(ALICE, Role.PRIMARY, END + timedelta(days=1), END + timedelta(days=7),
                                               Origin.OVERRIDE)], []),
                   TeamRota("data", [], [])],
        uptime=[CheckUptime("api-health", 99.9, 0.9995, timedelta(minutes=5)),
                CheckUptime("shop", 99.9, 0.99, timedelta(minutes=100)),
                CheckUptime("new-check", 99.0, None, timedelta(0))])
    fields.update(changes)
    return WeeklySummary(**fields)  # type: ignore[arg-type]


def render_text(s: WeeklySummary, late_for: datetime | None = None) -> str:
    view = ReportView(title=WEEKLY, compared_with="the week before", now=END + timedelta(hours=3), late_for=late_for,
                      chart_note="📈 alerts per day are charted in the thread")
    return render_weekly_email(s, view, names=NAMES, public_url="https://watchstander.example.com/").text


def test_the_text_part_reads_well_in_any_client() -> None:
    assert render_text(summary(), late_for=END) == """\
Weekly on-call summary
Mon 23 Nov 09:00 CET → Mon 30 Nov 09:00 CET · compared with the week before
Sent late: Watchstander was not running at Mon 30 Nov 09:00 CET

Alerts: 4 · no change
  - [CRITICAL] 1 critical — no change
  - [HIGH] 0 high — ↓ 3 from 3 (−100%)
  - [LOW] 2 low — ↑ 2 from 0
  - [INFO] 1 info — ↑ 1 from 0

Response times
  - Time to acknowledge — p50 3m 00s · p90 3m 00s · 1 alert acknowledged
  - Time to resolve — no alert was resolved
  - [CRITICAL] Critical acknowledged within 5m — no critical alert needed one

Pages per person: 1 page, 1 out of hours
  Person  Pages  Out of hours  By phone
  Alice       1             1         0

Escalations that reached a phone or step 3+: 12
  - [LOW] Escalated0 — step 3
  - [LOW] Escalated1 — step 3
  - [LOW] Escalated2 — step 3
  - [LOW] Escalated3 — step 3
  - [LOW] Escalated4 — step 3
  - [LOW] Escalated5 — step 3
  - [LOW] Escalated6 — step 3
  - [LOW] Escalated7 — step 3
  - [LOW] Escalated8 — step 3
  - [LOW] Escalated9 — step 3
    … and 2 more

Noisiest alerts (fires and repeats)
  Fires  Alert
      4  Flappy

Flapping (fired 3+ times within 24 h)
  - Flappy — fired 4 times, 3 within 24 h

Incidents
  None.

Open longer than 24 h: 14
  - [INFO] Old0 — open 2d, since Sat 28 Nov 09:00 CET
  - [INFO] Old1 — open 2d 1h, since Sat 28 Nov 08:00 CET
  - [INFO] Old2 — open 2d 2h, since Sat 28 Nov 07:00 CET
  - [INFO] Old3 — open 2d 3h, since Sat 28 Nov 06:00 CET
  - [INFO] Old4 — open 2d 4h, since Sat 28 Nov 05:00 CET
  - [INFO] Old5 — open 2d 5h, since Sat 28 Nov 04:00 CET
  - [INFO] Old6 — open 2d 6h, since Sat 28 Nov 03:00 CET
  - [INFO] Old7 — open 2d 7h, since Sat 28 Nov 02:00 CET
  - [INFO] Old8 — open 2d 8h, since Sat 28 Nov 01:00 CET
  - [INFO] Old9 — open 2d 9h, since Sat 28 Nov 00:00 CET
    … and 4 more

Uptime over 7 days: 1 check below target
  - [ON TARGET] api-health — 99.95% (target 99.9%) · 5 min down
  - [BELOW] shop — 99.00% (target 99.9%) · 100 min down
  - [NO DATA] new-check — not watched in this period

On call next week
  - platform — primary Bob until Tue 1 Dec 09:00 CET, then Alice until Mon 7 Dec 09:00 CET
  - data — primary nobody

--\x20
Watchstander · https://watchstander.example.com
Notes: p50/p90 by nearest rank over the alerts raised in the period;
out of hours is judged in each paged person's own time zone.
You get this summary because your address is under summary.email in Watchstander's config.
"""


def test_the_subject_names_the_week_and_the_change() -> None:
    def subject(end: datetime, total: int, before: int) -> str:
        window = ReportWindow.ending(end, timedelta(days=7))
        s = summary(window=window, previous=window.previous(), by_severity={"high": total},
                    previous_by_severity={"high": before})
        view = ReportView(title=WEEKLY, compared_with="the week before", now=end)
        return render_weekly_email(s, view, names={}, public_url="https://w.example.com").subject

    assert subject(END, 42, 34) == "Watchstander weekly summary — 23–29 Nov: 42 alerts (+8)"
    assert subject(END + timedelta(days=7), 1, 4) == "Watchstander weekly summary — 30 Nov – 6 Dec: 1 alert (−3)"
    assert (subject(datetime(2027, 1, 4, 8, 0, tzinfo=UTC), 0, 0)
            == "Watchstander weekly summary — 28 Dec 2026 – 3 Jan 2027: 0 alerts (no change)")
