"""`watchstander oncall` prints the `/oncall` answer; `check-config` reports unreadable calendars."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.factories import TOKENS, config_text

EXPECTED = """\
On call at Tue 24 Nov 14:00 CET

platform · #platform-alerts
  Primary: Alice until Mon 30 Nov 09:00 CET
  Backup: Bob until Mon 30 Nov 09:00 CET
  Next: Bob from Mon 30 Nov 09:00 CET
  Calendar: https://watch.example.com/oncall/platform.ics?token=platform-ics-token

payments · #payments-alerts
  No schedule configured; nobody is on call.
"""


def run(tmp_path: Path, *args: str, database_url: str | None = None,
        config: str | None = None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "watchstander.yaml"
    path.write_text(config if config is not None else config_text())
    env = {**os.environ, **TOKENS, "WATCHSTANDER_CONFIG": str(path), "PUBLIC_URL": "https://watch.example.com",
           "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp_path / 'absent.db'}"}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=60)


def test_oncall_prints_who_is_on_call(tmp_path: Path) -> None:
    out = run(tmp_path, "oncall", "--at", "2026-11-24T14:00")
    assert out.returncode == 0, out.stderr
    assert out.stdout == EXPECTED
    assert "no database yet, so no overrides are applied" in out.stderr
    assert not (tmp_path / "absent.db").exists()  # reading never creates a database


def test_oncall_applies_stored_overrides_for_one_team(tmp_path: Path, db_url: str) -> None:
    engine = create_engine(db_url.replace("+aiosqlite", ""))
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO oncall_overrides (team, person, starts_at, ends_at, created_by, created_at, reason) "
            "VALUES ('platform', 'U0CAROL01', '2026-11-24 12:00:00', '2026-11-24 18:00:00', 'U0ALICE01', "
            "'2026-11-24 11:00:00', 'cover')"))
    engine.dispose()
    out = run(tmp_path, "oncall", "platform", "--at", "2026-11-24T13:00:00Z", database_url=db_url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:5] == [
        "On call at Tue 24 Nov 14:00 CET", "", "platform · #platform-alerts",
        "  Primary: Carol until Tue 24 Nov 19:00 CET (override)", "  Backup: Bob until Mon 30 Nov 09:00 CET"]
    assert "payments" not in out.stdout and out.stderr == ""


def test_oncall_bad_arguments(tmp_path: Path) -> None:
    out = run(tmp_path, "oncall", "nosuch")
    assert (out.returncode, out.stderr.strip()) == (2, "no team named 'nosuch'; teams: platform, payments")
    out = run(tmp_path, "oncall", "--at", "tuesday")
    assert out.returncode == 2
    assert "--at 'tuesday' is not an ISO time; use e.g. 2026-11-30T09:00" in out.stderr


def test_check_config_reports_an_unreadable_calendar(tmp_path: Path) -> None:
    broken = config_text().replace("    channel: payments-alerts\n",
                                   "    channel: payments-alerts\n    schedule: {ical: exports/payments.ics}\n")
    out = run(tmp_path, "check-config", str(tmp_path / "watchstander.yaml"), config=broken)
    assert out.returncode == 1
    assert "teams.1.schedule.ical (payments): " in out.stdout
    assert "exports/payments.ics: cannot read the calendar file (No such file or directory)" in out.stdout
    assert "hint: check the path; a relative path is read from the config file's folder" in out.stdout
