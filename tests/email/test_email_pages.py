"""Paging by email over real SMTP: what the email says, its links, threading, and SMTP's answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.alerts.models import AlertGroup
from bot.clock import ManualClock
from bot.escalation.models import PageRecord
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from tests.email.conftest import email_settings
from tests.email.mail import ALICE_EMAIL, TEAM_LIST, confirm_link, email_config, links, open_link
from tests.escalation.paging import fire, post_alert
from tests.support.factories import am_alert
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text


async def _group(h: Harness) -> AlertGroup:
    async with h.bot.services.sessions() as s:
        group = await s.scalar(select(AlertGroup).order_by(AlertGroup.id.desc()).limit(1))
        assert group is not None
        return group


async def test_the_primary_gets_an_email_with_the_alert_and_its_links(mailer: Harness, smtp: SmtpStandIn) -> None:
    message = await fire(mailer)
    mail = await smtp.wait_for_email(ALICE_EMAIL)

    assert mail.rcpt_tos == (ALICE_EMAIL,)
    assert mail.subject == "[CRITICAL] HighErrorRate (api)"
    assert mail.header("From") == "Watchstander <pager@watch.example.com>"
    assert mail.header("Auto-Submitted") == "auto-generated"
    assert mail.message_id is not None and mail.message_id.endswith("@watch.example.com>")
    text, html = mail.text or "", mail.html or ""
    assert "CRITICAL  HighErrorRate (api)" in text
    assert "error rate 7.2% > 5%" in text
    assert "Runbook:   https://runbooks.example.com/high-error-rate" in text
    assert "alertname=HighErrorRate" in text and "instance=api-1:9090" in text
    assert "Step 1 of platform team's escalation pages Alice by email." in text
    assert f"In Slack:  https://slack.com/archives/{message.channel}/p{message.ts.replace('.', '')}" in text
    found = links(mail)
    assert found["Acknowledge"].startswith("https://watch.example.com/email/ack/")
    assert found["Resolve"].startswith("https://watch.example.com/email/resolve/")
    assert f'href="{found["Acknowledge"]}"' in html and ">Acknowledge</a>" in html
    assert "HighErrorRate" in html and "error rate 7.2% &gt; 5%" in html
    replies = [m.text for m in mailer.slack.thread("platform-alerts", message.ts)[1:]]
    assert "✉️ Paging Alice by email (step 1)" in replies


async def test_a_hostile_title_is_escaped_in_the_html_part(mailer: Harness, smtp: SmtpStandIn) -> None:
    await post_alert(mailer, am_alert("<script>alert(1)</script>", summary="<img src=x onerror=alert(2)>"))
    mail = await smtp.wait_for_email(ALICE_EMAIL)
    assert "<script>" not in (mail.html or "") and "&lt;script&gt;alert(1)&lt;/script&gt;" in (mail.html or "")
    assert "<img src=x" not in (mail.html or "")
    assert "<script>alert(1)</script>" in (mail.text or "")  # plain text is shown as text, not markup


async def test_opening_the_acknowledge_link_changes_nothing_until_its_button_is_pressed(
        mailer: Harness, smtp: SmtpStandIn) -> None:
    await fire(mailer)
    ack = links(await smtp.wait_for_email(ALICE_EMAIL))["Acknowledge"]
    mailer.clock.advance(timedelta(minutes=3))

    status, page = await open_link(mailer, ack)
    assert status == 200
    assert "Acknowledge this alert?" in page and "HighErrorRate" in page
    assert '<form method="post"' in page and "You act as Alice." in page
    await mailer.drain()
    assert (await _group(mailer)).status == "firing"

    status, page = await confirm_link(mailer, ack)
    assert status == 200 and "Acknowledged" in page
    await mailer.drain()
    group = await _group(mailer)
    assert (group.status, group.acknowledged_by, group.acknowledged_via) == ("acknowledged", "U0ALICE01", "email")
    assert "👀 *Acknowledged* by Alice (email) after 3m 00s" in visible_text(mailer.slack.messages("platform-alerts")[0])

    mailer.clock.advance(timedelta(minutes=5))  # the 5m step would email the team list: acknowledged, so not
    await mailer.drain()
    assert smtp.sent_to(TEAM_LIST) == []
    status, page = await confirm_link(mailer, ack)  # pressed twice: said, not done twice
    assert status == 200 and "already acknowledged" in page


async def test_resolving_by_link_sends_a_follow_up_in_the_same_conversation(mailer: Harness, smtp: SmtpStandIn) -> None:
    await fire(mailer)
    first = await smtp.wait_for_email(ALICE_EMAIL)
    mailer.clock.advance(timedelta(minutes=7))
    status, _ = await confirm_link(mailer, links(first)["Resolve"])
    assert status == 200
    await mailer.drain()

    follow_up = await smtp.wait_for_email(ALICE_EMAIL, subject_contains="Re: ")
    assert follow_up.subject == "Re: [CRITICAL] HighErrorRate (api)"
    assert follow_up.header("In-Reply-To") == first.message_id
    assert follow_up.header("References") == first.message_id
    assert follow_up.message_id != first.message_id
    assert "Resolved by Alice (email) after 7m 00s." in (follow_up.text or "")
    assert links(follow_up) == {}  # nothing left to act on
    group = await _group(mailer)
    assert (group.status, group.resolved_via) == ("resolved", "email")


async def test_the_team_list_is_paged_at_its_step_and_its_link_acts_as_the_list(
        mailer: Harness, smtp: SmtpStandIn) -> None:
    await fire(mailer)
    mailer.clock.advance(timedelta(minutes=5))
    await mailer.drain()
    mail = await smtp.wait_for_email(TEAM_LIST)
    assert mail.rcpt_tos == (TEAM_LIST,)
    assert "Step 2 of platform team's escalation pages oncall@example.com by email." in (mail.text or "")
    await confirm_link(mailer, links(mail)["Acknowledge"])
    await mailer.drain()
    assert "👀 *Acknowledged* by oncall@example.com (email) after 5m 00s" in visible_text(
        mailer.slack.messages("platform-alerts")[0])


async def test_a_forged_changed_or_expired_link_changes_nothing(mailer: Harness, smtp: SmtpStandIn) -> None:
    await fire(mailer)
    found = links(await smtp.wait_for_email(ALICE_EMAIL))
    ack = found["Acknowledge"]
    body, _, mac = ack.rpartition("/")[2].partition(".")
    forged = ack.replace(mac, ("A" if mac[0] != "A" else "B") + mac[1:])
    swapped = found["Resolve"].replace("/email/resolve/", "/email/ack/")

    for link, status, words in [(forged, 403, "This link is not valid"), (swapped, 403, "This link was changed"),
                                (ack[:-6], 403, "This link is not valid")]:
        for method in (open_link, confirm_link):
            assert await method(mailer, link) == (status, _contains(words)), link
    mailer.clock.advance(timedelta(hours=24, seconds=1))
    assert (await confirm_link(mailer, ack))[0] == 410
    status, page = await open_link(mailer, ack)
    assert status == 410 and "This link has expired" in page
    await mailer.drain()
    assert (await _group(mailer)).status == "firing"


class _contains(str):
    """Compares equal to any text containing it (for (status, page) pairs)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and str(self) in other

    __hash__ = str.__hash__


async def test_a_temporary_smtp_error_is_retried(mailer: Harness, smtp: SmtpStandIn) -> None:
    smtp.fail_next(451)
    await fire(mailer)
    assert smtp.sent_to(ALICE_EMAIL) == []
    mailer.clock.advance(timedelta(seconds=3))  # the outbox's first backoff
    await mailer.drain()
    mail = await smtp.wait_for_email(ALICE_EMAIL)
    assert mail.subject == "[CRITICAL] HighErrorRate (api)"
    async with mailer.bot.services.sessions() as s:
        page = await s.scalar(select(PageRecord).where(PageRecord.via == "email"))
        assert page is not None and (page.status, page.send_attempts) == ("sent", 2)


async def test_a_permanent_smtp_error_is_recorded_and_the_escalation_goes_on(
        mailer: Harness, smtp: SmtpStandIn) -> None:
    smtp.refuse_recipient(ALICE_EMAIL, 550)
    message = await fire(mailer)
    replies = [m.text for m in mailer.slack.thread("platform-alerts", message.ts)[1:]]
    assert "⚠️ Email to Alice failed: refused (smtp_550). The escalation goes on." in replies
    async with mailer.bot.services.sessions() as s:
        page = await s.scalar(select(PageRecord).where(PageRecord.via == "email"))
        assert page is not None and (page.status, page.error) == ("failed", "smtp_550")
    mailer.clock.advance(timedelta(minutes=5))
    await mailer.drain()
    assert (await smtp.wait_for_email(TEAM_LIST)).subject == "[CRITICAL] HighErrorRate (api)"


async def test_without_smtp_an_email_step_says_so_in_the_thread(harness_without_smtp: Harness) -> None:
    message = await fire(harness_without_smtp)
    replies = [m.text for m in harness_without_smtp.slack.thread("platform-alerts", message.ts)[1:]]
    assert ("⚠️ Step 1: could not page email:primary: email is not set up (SMTP_URL and EMAIL_FROM are not both "
            "set).") in replies
    assert "📟 Paging <@U0ALICE01> (step 1)" in replies and len(harness_without_smtp.slack.dms("U0ALICE01")) == 1


async def test_hostile_tokens_get_a_clear_refusal_never_an_error(mailer: Harness, smtp: SmtpStandIn) -> None:
    await fire(mailer)
    good = links(await smtp.wait_for_email(ALICE_EMAIL))["Acknowledge"].rpartition("/")[2]
    body = good.partition(".")[0]
    for token in ["x", "a.b.c", "x..", "%00", "é.é", "=" * 50, body, body + ".", "." + good, "A" * 4000,
                  body + ".AAAAAAAAAAAAAAAAAAAAAA", "eyJnIjoxfQ.AAAA"]:
        for method in ("GET", "POST"):
            async with mailer.http.request(method, f"{mailer.url}/email/ack/{token}") as resp:
                assert resp.status == 403, (method, token, resp.status)
                assert "This link is not valid" in await resp.text()
                assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    async with mailer.http.get(f"{mailer.url}/email/snooze/{good}") as resp:
        assert resp.status == 404  # only ack and resolve exist
    await mailer.drain()
    assert (await _group(mailer)).status == "firing"


async def test_a_template_in_email_templates_beside_the_config_replaces_the_shipped_one(
        slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn, tmp_path: Path) -> None:
    (tmp_path / "email-templates").mkdir()
    (tmp_path / "email-templates" / "alert.txt.j2").write_text(
        "ACME on-call: {{ alert.title }} is {{ alert.severity }}.\nAck: {{ alert.ack_url }}\n")
    settings = {**email_settings(smtp), "config_path": str(tmp_path / "watchstander.yaml")}
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=email_config(), settings=settings,
                             background=False) as h:
        await fire(h)
    mail = await smtp.wait_for_email(ALICE_EMAIL)
    assert (mail.text or "").startswith("ACME on-call: HighErrorRate is critical.\nAck: https://watch.example.com/")
    assert "Acknowledge</a>" in (mail.html or "")  # the HTML part is still the shipped one
