"""A busy, badly named week still renders within Slack's Block Kit limits, with overflow counted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.oncall.shifts import Origin, Role, Shift
from bot.reports.queries import EscalationReach, NoisyAlert, OpenGroup
from bot.reports.stats import DurationStats
from bot.reports.summary import AckTarget, Flapping, IncidentLine, PersonPages, TeamRota, WeeklySummary
from bot.reports.window import ReportWindow
from bot.sandbox.blockkit_limits import message_block_errors
from bot.slack.blocks.report import ReportView, change, report_message
from tests.support.visible import visible_text

END = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LONG = "Disk <almost> full & climbing " * 20  # 600 characters with Slack's control characters


def busy_summary() -> WeeklySummary:
    window = ReportWindow.ending(END, timedelta(days=7))
    shift = [Shift(person=f"U0PERSON{i:02d}", role=Role.PRIMARY, start=END + timedelta(hours=8 * i),
                   end=END + timedelta(hours=8 * i + 8), source=Origin.ROTATION) for i in range(21)]
    return WeeklySummary(
        window=window, previous=window.previous(), zone=ZoneInfo("Europe/Berlin"),
        by_severity={"critical": 900, "high": 5000, "medium": 1, "low": 2, "info": 3},
        previous_by_severity={"critical": 3},
        per_day=[(date(2026, 11, 16) + timedelta(days=i), {"critical": 1}) for i in range(8)],
        time_to_ack=DurationStats.of([timedelta(minutes=i) for i in range(1, 500)]),
        time_to_resolve=DurationStats.of([timedelta(hours=i) for i in range(1, 500)]),
        critical_ack=AckTarget(timedelta(minutes=5), 450, 900),
        pages=[PersonPages(f"U0PERSON{i:02d}", 100 - i, i, 1, "UTC") for i in range(40)],
        escalations=[EscalationReach(i, LONG, "critical", 4, True) for i in range(60)],
        noisiest=[NoisyAlert(LONG, LONG, 1000 - i) for i in range(5)],
        flapping=[Flapping(LONG, "db", 30, 10) for _ in range(30)],
        incidents=[IncidentLine(i, LONG, "SEV1", END - timedelta(days=1), END, timedelta(hours=3), False, "C0INC")
                   for i in range(40)],
        long_open_total=300,
        long_open=[OpenGroup(i, LONG, "high", "platform", END - timedelta(days=30)) for i in range(10)],
        next_week=[TeamRota(team=f"team-{t}", primary=shift, backup=shift) for t in range(12)],
    )


def test_a_busy_week_fits_slack_limits_and_counts_what_it_leaves_out() -> None:
    view = ReportView(title="Weekly on-call summary", compared_with="the week before", now=END,
                      chart_note="📈 alerts per day are charted in the thread")
    message = report_message(busy_summary(), view, names={"U0PERSON00": "A" * 100})
    blocks = [b.to_dict() for b in message.blocks]
    assert message_block_errors(blocks) == []
    assert len(blocks) < 30
    text = visible_text(type("Message", (), {"blocks": blocks})())
    assert "*Alerts*\n*5906* · ↑ 5903 from 3 (+196767%)" in text
    assert "… and 55 more" in text  # escalations beyond the first five
    assert "… and 30 more" in text  # pages per person beyond the first ten
    assert "&lt;almost&gt; full &amp; climbing" in text and "<almost>" not in text
    assert "(+14 more)" in text  # shifts beyond the first seven


def test_week_over_week_changes_read_naturally() -> None:
    assert change(12, 8) == "↑ 4 from 8 (+50%)"
    assert change(1, 3) == "↓ 2 from 3 (−67%)"
    assert change(5, 5) == "no change"
    assert change(4, 0) == "↑ 4 from 0"
    assert change(0, 2) == "↓ 2 from 2 (−100%)"
