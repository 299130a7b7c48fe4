"""`watchstander demo` runs the product end to end and prints what people would see, the same story on any date."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.demo import run_demo

BERLIN, LONDON = ZoneInfo("Europe/Berlin"), ZoneInfo("Europe/London")  # the demo's zone; Carol's
#: How far into the demo the incident is declared: 1m 12s and 13m (first alert), 4m (PagerDuty), 10m (escalation).
DECLARED_AFTER = timedelta(minutes=28, seconds=12)


def day(at: datetime) -> str:
    return f"{at:%a} {at.day} {at:%b}"


def assert_the_story(out: str, start: datetime) -> None:
    """Who is paged, who acknowledges, at which step, and the dates, all from when the demo started."""
    local, declared = start.astimezone(BERLIN), (start + DECLARED_AFTER).astimezone(BERLIN)
    assert (f"—— {local:%A} {local.day} {local:%B %Y, %H:%M %Z}. On call for platform this week: Bob, "
            "with Carol as backup; Alice is on the team too") in out
    assert "● Slack #platform-alerts [posted]\n    ▌ 🔴 HighErrorRate\n    🚨 *Firing* — not acknowledged yet" in out
    assert f"*Started*: {local:%Y-%m-%d %H:%M %Z}" in out
    # Every page, in order: Bob (primary) by Slack for the first alert, for the PagerDuty event and for the
    # checkout alert, then Bob by SMS, then Carol (backup) by SMS and Slack at step 3.
    assert [line.strip() for line in out.splitlines()
            if line.startswith(("    📟 Paging", "    📱 Paging", "    ✉️ Paging", "    📞 Calling"))] == [
        "📟 Paging @Bob (step 1)"] * 3 + [
        "📱 Paging Bob by SMS (step 2)", "📱 Paging Carol by SMS (step 3)", "📟 Paging @Carol (step 3)",
        "📟 Paging @Carol (step 1)", "📟 Paging @Carol (step 1)",  # the shop check, then the backup heartbeat:
        # Carol holds the platform pager for two hours by then; payments is still Bob's, by Slack and email
        "📟 Paging @Bob (step 1)", "✉️ Paging Bob by email (step 1)",
        "📟 Paging @Bob (step 1)", "📞 Calling Bob (step 2)"]  # storage phones its on-call at 2m
    assert "▌ 🟠 shop-health is down" in out and "HTTP 503, expected 200. Failing since" in out
    assert "after 1m 30s of downtime" in out and "✅ *Resolved* by Watchstander after 1m 00s" in out
    assert "▌ 🔴 Heartbeat nightly-backup reported a failure" in out
    assert "The job reported a failure: pg_dump: error: connection to server failed: timeout" in out
    assert "✅ *Resolved* by Watchstander after 9m 00s" in out
    assert "📣 *Status update* — *Monitoring* from @Alice · 🌐 published on the status page" in out
    assert "Example Shop status: All systems operational\n    shop-health: up," in out
    assert ("Incident: Checkout failing (resolved)\n      monitoring: Card payments work again; we are watching "
            "closely\n") in out  # the published update only: never the internal ones
    assert "—— Bob, who was paged, clicks Acknowledge" in out
    assert "👀 *Acknowledged* by @Bob after 1m 12s" in out
    assert "Alert #1 is already acknowledged by @Bob." in out
    assert "✅ *Resolved* by Alertmanager after 14m 12s" in out
    assert "▌ 🟡 DiskSpaceLow (3 of 3 firing)" in out and "💤 Snoozed by @Carol for 60m" in out
    assert "✅ *Resolved* by PagerDuty event after 4m 00s" in out
    assert "● SMS to Carol:\n    CRITICAL CheckoutLatencyHigh (api): p99 checkout latency 4.2s > 1s. Reply" in out
    assert "—— Carol, the backup, answers the SMS page\n\n● SMS from Carol:" in out
    assert "👀 *Acknowledged* by Carol (SMS) after 10m 00s" in out
    channel = f"inc-{declared:%Y-%m-%d}-checkout-failing"
    assert f"● Slack #{channel}: channel created" in out
    assert f"*Commander*: @Bob                    *Started*: {declared:%Y-%m-%d %H:%M %Z}" in out
    assert "✅ *Incident #1 resolved* by @Bob" in out
    # /oncall as Carol (London) sees it: Bob's week ends at the next 09:00 Berlin handoff, four days on.
    handoff = datetime.combine(local.date() + timedelta(days=4), time(9), tzinfo=BERLIN).astimezone(LONDON)
    assert f"Primary: @Bob until {day(handoff)}" in out and f"Backup: @Carol until {day(handoff)}" in out
    assert "▶ @Carol in #platform-alerts: /oncall take platform 2h so Bob can rest after the incident" in out
    assert "📅 @Carol took the platform pager" in out and "instead of @Bob" in out
    # The post-mortem draft.
    assert "The post-mortem draft (Post-mortem draft: Checkout failing):" in out
    assert f"| Channel | #{channel} |" in out
    assert f"| {declared:%Y-%m-%d %H:%M:%S %Z} | declared | Bob | Declared SEV1: Checkout failing |" in out
    assert f"| {declared:%Y-%m-%d %H:%M:%S %Z} | Carol | SMS | step 3 | CheckoutLatencyHigh |" in out
    assert "| pin | Bob | Marked with 📌: message from Alice: Rollback to 2.13 started" in out
    assert "+1555" not in out  # people by name, never by phone number
    assert "● Email to Bob: [CRITICAL] CardPaymentsFailing (payments)\n    CRITICAL  CardPaymentsFailing (payments)" in out
    assert "    Acknowledge: http://127.0.0.1:" in out and "/email/ack/" in out
    assert "→ 200: Acknowledge this alert?" in out and "→ 200: Acknowledged" in out
    assert "👀 *Acknowledged* by Bob (email) after 2m 00s" in out
    assert "● Email to Bob: Re: [CRITICAL] CardPaymentsFailing (payments)\n    RESOLVED  CardPaymentsFailing" in out
    assert "@example.com" not in out  # people by name, never by address
    # The storage team's call: the alert read out, key 1, and the Slack message acknowledged "(phone call)".
    assert ("—— Bob picks up\n    🔊 Watchstander. Critical alert: VolumeReadOnly on storage. volume /srv/data "
            "remounted read-only.\n    🔊 Press 1 to acknowledge, 2 to escalate, 3 to resolve.\n\n—— Bob presses 1\n"
            "    🔊 Acknowledged. Goodbye.") in out
    assert "👀 *Acknowledged* by Bob (phone call) after 2m 00s" in out
    assert "📞 Calling Carol" not in out  # acknowledged: the backup is not called at 7m
    assert out.rstrip().endswith("SMS pages sent, 1 phone call(s), 2 emails sent.")
    assert "Traceback" not in out


@pytest.mark.parametrize("start", [
    None,  # today, whenever the suite runs
    datetime(2027, 3, 28, 1, 30, tzinfo=UTC),  # 03:30 CEST, an hour after the clocks went forward
    datetime(2027, 10, 31, 0, 30, tzinfo=UTC),  # 02:30 CEST: the clocks go back while the incident runs
    datetime(2028, 2, 28, 22, 50, tzinfo=UTC),  # 23:50 CET: the incident is declared on the leap day
], ids=["today", "spring-forward", "fall-back", "midnight"])
async def test_the_demo_tells_the_same_story_on_any_date(start: datetime | None) -> None:
    start = start or datetime.now(UTC).replace(microsecond=0)
    lines: list[str] = []
    assert await run_demo(write=lines.append, start=start) == 0
    assert_the_story("\n".join(lines), start)


def test_demo_command_exits_cleanly_with_todays_story() -> None:
    before = datetime.now(BERLIN)
    done = subprocess.run([sys.executable, "-m", "bot", "demo"], capture_output=True, text=True, timeout=120)
    after = datetime.now(BERLIN)
    assert done.returncode == 0, done.stderr
    assert "Demo finished:" in done.stdout
    assert "On call for platform this week: Bob, with Carol as backup" in done.stdout
    assert any(f"—— {d:%A} {d.day} {d:%B %Y}, " in done.stdout for d in (before, after))  # today, its own date
