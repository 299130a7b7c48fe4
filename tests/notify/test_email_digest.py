"""The daily digest as an email: its subject, a plain-text part a person can read in any client, and
an HTML part that shows an alert's title as text, whatever the title holds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from jinja2 import UndefinedError

from bot.notify.email_digest import render_daily_email
from bot.notify.email_render import RenderedEmail, jinja_env
from bot.oncall.shifts import Origin, Role, Shift
from bot.reports.daily import AlertCount, AlertLine, CertExpiring, CheckDown, DailyDigest, TeamToday
from tests.support.factories import ALICE, BOB

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)  # Thu 08:30 CET
START, END = datetime(2026, 12, 1, 23, 0, tzinfo=UTC), datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> & <b>DiskFull</b>'
NAMES = {ALICE: "Alice", BOB: "Bob"}


def line(gid: int, title: str, severity: str, status: str, at: datetime, team: str | None = "platform") -> AlertLine:
    return AlertLine(gid, title, severity, status, team, at)


def digest(**changes: object) -> DailyDigest:
    yesterday = AlertCount({"critical": 1, "high": 2, "low": 11}, (
        line(1, HOSTILE, "critical", "resolved", datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
        line(2, "SlowResponses", "high", "acknowledged", datetime(2026, 12, 2, 12, 0, tzinfo=UTC)),
        *(line(10 + i, f"Low{i}", "low", "resolved", datetime(2026, 12, 2, 13, i, tzinfo=UTC), team=None)
          for i in range(8)),
    ))
    open_now = AlertCount({"high": 2}, (
        line(3, "BackupFailed", "high", "firing", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        line(2, "SlowResponses", "high", "acknowledged", datetime(2026, 12, 2, 12, 0, tzinfo=UTC)),
    ))
    week_end = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    platform = TeamToday("platform", (
        Shift(BOB, Role.PRIMARY, datetime(2026, 11, 30, 8, 0, tzinfo=UTC), week_end, Origin.ROTATION),),
        (Shift(ALICE, Role.BACKUP, datetime(2026, 11, 30, 8, 0, tzinfo=UTC), week_end, Origin.ROTATION),),
        has_schedule=True)
    fields: dict[str, object] = dict(
        day=date(2026, 12, 2), day_start=START, day_end=END, now=NOW, zone=BERLIN, yesterday=yesterday,
        open_now=open_now, on_call=(platform,),
        checks_down=(CheckDown("api-health", "platform", NOW - timedelta(hours=2, minutes=30), "HTTP 503"),),
        certs_expiring=(CertExpiring("shop-tls", None, "shop.example.com:443",
                                     datetime(2026, 12, 20, 12, 0, tzinfo=UTC), timedelta(days=30), alerted=True),))
    fields.update(changes)
    return DailyDigest(**fields)  # type: ignore[arg-type]


def render(d: DailyDigest) -> RenderedEmail:
    return render_daily_email(d, public_url="https://watchstander.example.com/", names=NAMES)


def test_the_subject_says_the_day_and_the_counts() -> None:
    assert render(digest()).subject == (
        "Watchstander daily digest — Thu 3 Dec: 2 open, 14 yesterday, 1 check down, 1 certificate expiring")
    quiet = digest(yesterday=AlertCount({}, ()), open_now=AlertCount({}, ()), checks_down=(), certs_expiring=())
    assert render(quiet).subject == "Watchstander daily digest — Thu 3 Dec: 0 open, 0 yesterday"


def test_the_text_part_has_every_section() -> None:
    text = render(digest()).text
    assert text.startswith("Daily digest — Thu 3 Dec\n"
                           "Wed 2 Dec 00:00 CET → Thu 3 Dec 00:00 CET · as of Thu 3 Dec 08:30 CET\n\n")
    assert ("Yesterday: 14 alerts (1 critical, 2 high, 11 low)\n"
            f"  - [CRITICAL] {HOSTILE} (platform) — resolved · raised 10:00\n"  # plain text: shown as typed
            "  - [HIGH] SlowResponses (platform) — acknowledged · raised 13:00\n"
            "  - [LOW] Low0 — resolved · raised 14:00\n") in text
    assert "  - [LOW] Low7 — resolved · raised 14:07\n    … and 4 more\n" in text
    assert ("Open now: 2 (2 high)\n"
            "  - [HIGH] BackupFailed (platform) — firing, open 2d 21h\n"
            "  - [HIGH] SlowResponses (platform) — acknowledged, open 19h 30m\n") in text
    assert ("On call today\n"
            "  - platform — primary Bob until Mon 7 Dec 09:00 CET; backup Alice until Mon 7 Dec 09:00 CET\n") in text
    assert ("Checks down or expiring\n"
            "  - [DOWN] api-health (platform) — down 2h 30m, since 06:00: HTTP 503\n"
            "  - [CERTIFICATE] shop-tls (shop.example.com:443) — certificate expires Sun 20 Dec 2026 (in 17 days)\n"
            ) in text
    assert text.endswith("\n-- \nWatchstander · https://watchstander.example.com\n"
                         "You get this digest because your address is under daily_summary.email in Watchstander's "
                         "config.\n")
    assert "Sent late" not in text and "<" not in text.replace(HOSTILE, "")


def test_a_late_or_quiet_digest_says_so() -> None:
    late = render(digest(late_for=NOW - timedelta(hours=3)))
    assert "\nSent late: Watchstander was not running at Thu 3 Dec 05:30 CET\n" in late.text
    assert "Sent late: Watchstander was not running at Thu 3 Dec 05:30 CET</td>" in late.html
    quiet = render(digest(yesterday=AlertCount({}, ()), open_now=AlertCount({}, ()), checks_down=(),
                          certs_expiring=(), on_call=()))
    assert "A quiet day: no alerts yesterday, nothing open, no check down." in quiet.text
    for said in ("No alert was raised.", "Nothing is firing or acknowledged.", "No team has an on-call schedule.",
                 "No check is down and no certificate expires soon."):
        assert f"  {said}\n" in quiet.text and said in quiet.html


def test_the_html_part_escapes_a_hostile_title_and_is_mail_client_html() -> None:
    html = render(digest()).html
    assert "<script" not in html and "<b>DiskFull" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;DiskFull&lt;/b&gt; (platform)" in html
    assert "<title>Watchstander daily digest — Thu 3 Dec: 2 open, 14 yesterday, 1 check down, 1 certificate " \
           "expiring</title>" in html
    assert 'max-width:640px' in html and '<meta name="color-scheme" content="light dark">' in html
    assert not re.search(r"<(link|style|script|img)\b", html)  # inline styles only, nothing fetched or run
    assert 'background-color:#c62828;color:#ffffff' in html  # the critical chip
    assert '<a href="https://watchstander.example.com"' in html


CONTEXT_OF_NOTHING: dict[str, object] = {"subject": "s", "period": "p", "as_of": "a", "late": None, "quiet": True,
                                         "sections": [], "public_url": "https://example.com"}


def test_the_environment_escapes_html_templates_only_and_refuses_unknown_names() -> None:
    env = jinja_env()
    assert {"daily.html.j2", "daily.txt.j2", "alert.html.j2", "alert.txt.j2"} <= set(env.list_templates())  # shipped
    assert env.get_template("daily.html.j2").render(CONTEXT_OF_NOTHING | {"title": "<i>"}).count("&lt;i&gt;") == 1
    assert "<i>" in env.get_template("daily.txt.j2").render(CONTEXT_OF_NOTHING | {"title": "<i>"})
    with pytest.raises(UndefinedError, match="'nothing' is undefined"):
        env.from_string("{{ nothing }}").render()
