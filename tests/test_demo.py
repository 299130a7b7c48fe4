"""`watchstander demo` runs the product end to end and prints what people would see."""

from __future__ import annotations

import subprocess
import sys

from bot.demo import run_demo


async def test_demo_transcript_shows_the_whole_alert_flow() -> None:
    lines: list[str] = []
    assert await run_demo(write=lines.append) == 0
    out = "\n".join(lines)
    assert "● Slack #platform-alerts [posted]\n    ▌ 🔴 HighErrorRate" in out
    assert "👀 *Acknowledged* by @Bob after 1m 12s" in out
    assert "Alert #1 is already acknowledged by @Bob." in out
    assert "✅ *Resolved* by Alertmanager after 14m 12s" in out
    assert "▌ 🟡 DiskSpaceLow (3 of 3 firing)" in out
    assert "✅ *Resolved* by PagerDuty event after 4m 00s" in out
    assert "▶ @Carol in #platform-alerts: /oncall take platform 2h dentist cover for Alice" in out
    assert "📅 @Carol took the platform pager" in out
    assert "● Slack #inc-2026-11-24-checkout-failing: channel created" in out or "channel created" in out
    assert "✅ *Incident #1 resolved* by @Bob" in out
    assert "The post-mortem draft (Post-mortem draft: Checkout failing):" in out
    assert "| pin | Bob | Marked with 📌: message from Alice: Rollback to 2.13 started" in out
    assert "● SMS to Carol:\n    CRITICAL CheckoutLatencyHigh (api): p99 checkout latency 4.2s > 1s. Reply" in out
    assert "👀 *Acknowledged* by Carol (SMS) after 10m 00s" in out
    assert "| 2026" in out and "| Carol | SMS | step 3 | CheckoutLatencyHigh |" in out
    assert "+1555" not in out  # people by name, never by phone number
    assert out.rstrip().endswith("SMS pages sent.")
    assert "Traceback" not in out


def test_demo_command_exits_cleanly() -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "demo"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Demo finished:" in done.stdout
