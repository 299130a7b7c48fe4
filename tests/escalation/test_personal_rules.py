"""person:<…> targets: each person's own notify: rules, their timing, quiet hours, and restarts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import ConfigError, parse_config
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from bot.sandbox.twilio import TwilioStandIn
from bot.slack.ids import AlertAction
from tests.email.conftest import email_settings
from tests.email.mail import ALICE_EMAIL, email_config_text
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import fire, pages_to, post_alert
from tests.support.factories import ALICE, TOKENS, am_alert, config_text
from tests.support.harness import Harness, start_harness

RULES = """    escalation:
      - {after: 0m,  notify: [person:primary]}
      - {after: 30m, notify: [slack:channel]}
"""
ALICE_RULES = ('email: alice@example.com, timezone: Europe/Berlin,\n'
               '     notify: [{after: 0m, via: slack}, {after: 2m, via: sms}, {after: 5m, via: email}],\n'
               '     quiet: {start: "22:00", end: "07:00", below: critical}}')
MEDIUM_PAGES = "severities:\n  medium: {escalate: true}\n"


@asynccontextmanager
async def bot(slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn,
              smtp: SmtpStandIn, extra: str = "") -> AsyncIterator[Harness]:
    text = email_config_text(extra, escalation=RULES).replace(
        "email: alice@example.com, timezone: Europe/Berlin}", ALICE_RULES)
    config = parse_config(text, env=TOKENS)
    settings = {**twilio_settings(twilio), **email_settings(smtp)}
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config, settings=settings,
                             background=False) as h:
        yield h


def thread(h: Harness) -> list[str]:
    message = h.slack.messages("platform-alerts")[0]
    return [m.text for m in h.slack.thread("platform-alerts", message.ts)[1:]]


async def test_a_persons_rules_reach_them_by_slack_then_sms_then_email_on_their_timing(
        slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn, smtp: SmtpStandIn) -> None:
    async with bot(slack, clock, db_url, twilio, smtp) as h:
        await fire(h)
        assert len(slack.dms(ALICE)) == 1 and pages_to(twilio, ALICE) == [] and smtp.messages == []
        notes = thread(h)
        assert "📟 Paging <@U0ALICE01> (step 1)" in notes
        sms_at = int((clock.now() + timedelta(minutes=2)).timestamp())
        assert (f"⏳ Will page Alice by SMS at <!date^{sms_at}^{{time}}|2026-11-24 13:02 UTC> unless acknowledged "
                "by then (step 1)") in notes
        clock.advance(timedelta(minutes=1, seconds=59))
        await h.drain()
        assert pages_to(twilio, ALICE) == []
        clock.advance(timedelta(seconds=1))
        await h.drain()
        [sms] = pages_to(twilio, ALICE)
        assert sms.body.startswith("CRITICAL HighErrorRate (api): error rate 7.2% > 5%. Reply ")
        assert smtp.messages == []
        clock.advance(timedelta(minutes=3))
        await h.drain()
        assert [m.rcpt_tos for m in smtp.messages] == [(ALICE_EMAIL,)]
        assert len(slack.dms(ALICE)) == 1 and len(pages_to(twilio, ALICE)) == 1  # each channel once


async def test_acknowledging_before_a_later_channel_cancels_it(
        slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn, smtp: SmtpStandIn) -> None:
    async with bot(slack, clock, db_url, twilio, smtp) as h:
        message = await fire(h)
        clock.advance(timedelta(minutes=1))
        await h.driver.click(message, AlertAction.ACKNOWLEDGE, user_id=ALICE)
        clock.advance(timedelta(minutes=10))
        await h.drain()
        assert pages_to(twilio, ALICE) == [] and smtp.messages == []


async def test_a_later_channel_survives_a_restart(
        slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn, smtp: SmtpStandIn) -> None:
    async with bot(slack, clock, db_url, twilio, smtp) as h:
        await fire(h)
    clock.advance(timedelta(minutes=2))
    async with bot(slack, clock, db_url, twilio, smtp) as restarted:
        await restarted.drain()
        assert len(pages_to(twilio, ALICE)) == 1
        assert len(slack.dms(ALICE)) == 1  # the DM is not sent again


@pytest.mark.parametrize(("severity", "sms_at"), [
    pytest.param("medium", datetime(2026, 11, 25, 6, 0, tzinfo=UTC), id="medium: held until 07:00 Berlin"),
    pytest.param("critical", datetime(2026, 11, 24, 22, 2, tzinfo=UTC), id="critical: never held"),
])
async def test_quiet_hours_hold_a_less_severe_alerts_sms_but_never_a_critical_ones(
        severity: str, sms_at: datetime, slack: SlackStandIn, clock: ManualClock, db_url: str,
        twilio: TwilioStandIn, smtp: SmtpStandIn) -> None:
    clock.set(datetime(2026, 11, 24, 22, 0, tzinfo=UTC))  # 23:00 in Berlin, inside Alice's 22:00–07:00
    async with bot(slack, clock, db_url, twilio, smtp, MEDIUM_PAGES) as h:
        await post_alert(h, am_alert(labels={"severity": severity}))
        assert len(slack.dms(ALICE)) == 1  # Slack is never held
        if severity == "medium":
            assert any("(after their quiet hours)" in note for note in thread(h))
        clock.set(sms_at - timedelta(seconds=1))
        await h.drain()
        assert pages_to(twilio, ALICE) == []
        clock.set(sms_at)
        await h.drain()
        assert len(pages_to(twilio, ALICE)) == 1


@pytest.mark.parametrize(("rules", "message"), [
    ("notify: [{after: 2m, via: sms}, {after: 0m, via: slack}]", "rules must be in order of their 'after' offsets"),
    ("notify: [{after: 0m, via: email}]", "via email needs an email for Dave"),
    ("notify: [{after: 0m, via: fax}]", "Input should be 'slack', 'sms', 'call' or 'email'"),
    ('quiet: {start: "22:00", end: "22:00"}', "quiet: start and end are the same time"),
])
def test_bad_rules_are_named_with_their_line(rules: str, message: str) -> None:
    text = config_text().replace("name: Dave}", f"name: Dave, {rules}}}")
    with pytest.raises(ConfigError) as err:
        parse_config(text, env=TOKENS)
    found = "\n".join(str(p) for p in err.value.problems)
    assert "line 13: people.3" in found and message in found, found


def test_check_config_explains_rules_that_work_against_each_other(tmp_path: Path) -> None:
    """Each rule is valid on its own; together: Alice's email comes after the policy moved on, a step pages
    by person: and sms: at once, Dave's rules are never used, Carol's quiet hours hold nothing."""
    text = email_config_text(escalation="""    escalation:
      - {after: 0m,  notify: [person:primary, sms:primary]}
      - {after: 4m,  notify: [slack:channel]}
""").replace("email: alice@example.com, timezone: Europe/Berlin}", ALICE_RULES)
    text = text.replace('phone: "+15550000003"}', 'phone: "+15550000003", quiet: {start: "23:00", end: "06:00"}}')
    text = text.replace("name: Dave}", "name: Dave, notify: [{after: 0m, via: slack}]}")
    path = tmp_path / "watchstander.yaml"
    path.write_text(text)
    lines = text.splitlines()
    line = {name: next(n for n, t in enumerate(lines, 1) if f"name: {name}," in t) for name in ("Alice", "Carol", "Dave")}
    step = next(n for n, t in enumerate(lines, 1) if "person:primary, sms:primary" in t)
    done = subprocess.run([sys.executable, "-m", "bot", "check-config", str(path)], capture_output=True, text=True,
                          env={**os.environ, **TOKENS}, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [t for t in done.stdout.splitlines() if t.startswith("warning: ")]
    assert warnings == [
        f"warning: line {line['Dave']}: people.3.notify: Dave's notify: rules are never used: no escalation step of "
        "a team Dave is in targets person:primary, person:backup or person:U0DAVE001; steps with slack:, sms:, call: "
        "or email: reach them on that channel only. Put person:primary in a step to use these rules.",
        f"warning: line {step}: teams.0.escalation.0: step 1 of team platform has both person:primary and "
        "sms:primary: whoever's own rules include sms is paged that way twice. Keep person:primary (their rules) or "
        "sms:primary (that channel for everyone).",
        f"warning: line {line['Alice'] + 1}: people.0.notify: Alice's email (after 5m) comes only when team platform's "
        "step 2 has already run (4m after step 1): the next people are paged before Alice's email, unless someone "
        "acknowledges. Shorten the rule or move the next step later.",
        f"warning: line {line['Carol']}: people.2.quiet: Carol's quiet hours hold only the SMS and calls of their own "
        "notify: rules, and they have none; sms: and call: steps that name them are never held.",
    ], done.stdout
