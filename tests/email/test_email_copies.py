"""Routes and severities that copy an alert by email without paging anyone, and the follow-up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.alerts.emails import EmailThread
from bot.clock import ManualClock
from bot.escalation.models import PageRecord
from bot.retention import Pruner
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from bot.slack.ids import AlertAction, OverflowChoice
from tests.email.conftest import start_mailer
from tests.email.mail import email_config, links
from tests.escalation.paging import post_alert
from tests.support.factories import ALICE, am_alert, am_notification
from tests.support.harness import Harness

DEVOPS = "devops@example.com"
ROUTE = "{match: {severity: medium}, team: platform, email: [devops@example.com]}"
NO_ESCALATION = """severities:
  medium: {escalate: false}
  info: {email: [audit@example.com]}
"""


async def _pages(h: Harness) -> int:
    async with h.bot.services.sessions() as s:
        return await s.scalar(select(func.count()).select_from(PageRecord)) or 0


async def test_a_route_copies_a_medium_alert_by_email_and_pages_nobody(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    config = email_config(NO_ESCALATION, first_route=ROUTE)
    async with start_mailer(slack, clock, db_url, smtp, config) as h:
        medium = am_alert("DiskFilling", labels={"severity": "medium"}, summary="disk 81% full")
        await post_alert(h, medium)
        mail = await smtp.wait_for_email(DEVOPS)
        assert mail.rcpt_tos == (DEVOPS,)
        assert mail.subject == "[MEDIUM] DiskFilling (api)"
        assert "disk 81% full" in (mail.text or "")
        assert ("The config sends a copy of alerts like this one to devops@example.com; this email pages nobody."
                in (mail.text or ""))
        assert set(links(mail)) == {"Acknowledge", "Resolve"}
        assert await _pages(h) == 0
        assert [m.rcpt_tos for m in smtp.messages] == [(DEVOPS,)]  # nobody else

        clock.advance(timedelta(minutes=12))
        resolved = am_alert("DiskFilling", status="resolved", labels={"severity": "medium"}, summary="disk 81% full")
        status, _ = await h.alertmanager(am_notification(resolved, status="resolved"))
        assert status == 202
        await h.drain()
        follow_up = await smtp.wait_for_email(DEVOPS, subject_contains="Re: ")
        assert follow_up.header("In-Reply-To") == mail.message_id
        assert "Resolved by Alertmanager after 12m 00s." in (follow_up.text or "")


async def test_a_severity_copies_its_alerts_and_an_alert_in_no_such_route_is_not_copied(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    async with start_mailer(slack, clock, db_url, smtp, email_config(NO_ESCALATION, first_route=ROUTE)) as h:
        await post_alert(h, am_alert("Deployed", fingerprint="fp-info", labels={"severity": "info"},
                                     summary="v2.3 is out"))
        assert (await smtp.wait_for_email("audit@example.com")).subject == "[INFO] Deployed (api)"
        await post_alert(h, am_alert("CpuBusy", fingerprint="fp-low", labels={"severity": "low"}))
        assert [m.subject for m in smtp.messages] == ["[INFO] Deployed (api)"]


async def test_a_silenced_alert_is_not_copied(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    async with start_mailer(slack, clock, db_url, smtp, email_config(NO_ESCALATION, first_route=ROUTE)) as h:
        await post_alert(h, am_alert("DiskFilling", fingerprint="fp-a", labels={"severity": "medium"}))
        [message] = h.slack.messages("platform-alerts")
        gid = message.metadata["event_payload"]["group_id"]
        await h.driver.click(message, AlertAction.MORE, user_id=ALICE,
                             selected_option_value=f"{OverflowChoice.SILENCE_1H}:{gid}")
        await h.drain()
        await post_alert(h, am_alert("DiskFilling", fingerprint="fp-b", labels={"severity": "medium"}),
                         group_key="other")
        assert len(h.slack.messages("platform-alerts")) == 1  # silenced: not shown…
        assert len(smtp.sent_to(DEVOPS)) == 1  # …and not copied


async def test_an_email_thread_is_pruned_with_its_alert(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    async with start_mailer(slack, clock, db_url, smtp, email_config(NO_ESCALATION, first_route=ROUTE)) as h:
        medium = {"labels": {"severity": "medium"}, "summary": "disk 81% full"}
        await post_alert(h, am_alert("DiskFilling", **medium))  # type: ignore[arg-type]
        await post_alert(h, am_alert("DiskFilling", status="resolved", **medium))  # type: ignore[arg-type]
        assert len(smtp.sent_to(DEVOPS)) == 2
        clock.advance(timedelta(days=401))
        report = await Pruner(sessions=h.bot.services.sessions, clock=clock, retention=h.config.retention).run()
        assert report.deleted["email_threads"] == 1 and report.deleted["alert_groups"] == 1
        async with h.bot.services.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(EmailThread)) == 0


async def test_in_a_storm_an_address_gets_at_most_20_copies_in_10_minutes(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> None:
    async with start_mailer(slack, clock, db_url, smtp, email_config(NO_ESCALATION, first_route=ROUTE)) as h:
        storm = [am_alert(f"Disk{i}", fingerprint=f"fp-{i}", labels={"severity": "medium"}) for i in range(30)]
        for i, alert in enumerate(storm):
            status, _ = await h.alertmanager(am_notification(alert, group_key=f"g{i}"))
            assert status == 202
        await h.drain()
        assert len(smtp.sent_to(DEVOPS)) == 20
        clock.advance(timedelta(minutes=10, seconds=1))
        await post_alert(h, am_alert("AfterTheStorm", fingerprint="fp-after", labels={"severity": "medium"}),
                         group_key="after")
        assert smtp.sent_to(DEVOPS)[-1].subject == "[MEDIUM] AfterTheStorm (api)"
