"""Email in the config: addresses, targets, routes, summaries; each mistake named with its line."""

from __future__ import annotations

import pytest

from bot.app import email_warning
from bot.config import ConfigError, Settings, parse_config
from tests.email.mail import email_config
from tests.support.factories import TOKENS, config_text


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text, env=TOKENS)
    return [str(p) for p in err.value.problems]


def test_email_targets_routes_and_summaries_load() -> None:
    config = email_config("""
summary: {email: [eng@example.com]}
severities:
  medium: {email: [DevOps@Example.COM]}
""", first_route="{match: {severity: low}, team: platform, email: [lows@example.com]}")
    assert config.person("U0ALICE01").email == "alice@example.com"  # type: ignore[union-attr]
    team = config.team("platform")
    assert team is not None
    assert team.escalation[0].notify == ["slack:primary", "email:primary"]
    assert team.escalation[1].notify == ["email:oncall@example.com"]
    assert config.routes[0].email == ["lows@example.com"]
    assert config.severities["medium"].email == ["DevOps@example.com"]  # the domain is normalised, not the user
    assert config.summary.email == ["eng@example.com"]


@pytest.mark.parametrize("target, message", [
    ("email:channel", "unknown target 'email:channel'"),
    ("email:not-an-address@", "'not-an-address@' is not an email address"),
    ("fax:primary", "unknown target 'fax:primary'; use slack:primary, slack:backup, slack:<USERID>, slack:channel, "
                    "sms:primary, sms:backup, sms:<USERID>, call:primary, call:backup, call:<USERID>, "
                    "email:primary, email:backup, email:<USERID> or email:<address>"),
])
def test_a_bad_email_target_is_named(target: str, message: str) -> None:
    text = config_text().replace("notify: [slack:channel]", f"notify: [{target}]")
    [problem] = problems(text)
    assert problem.startswith("line 29: teams.0.escalation.3.notify:") and message in problem, problem


def test_an_email_step_for_someone_without_an_address_is_refused() -> None:
    text = config_text().replace("notify: [slack:channel]", "notify: [email:U0CAROL01]")
    assert problems(text) == [
        "line 29: teams.0.escalation.3.notify: email:U0CAROL01 but Carol has no email under people"]


def test_a_bad_address_in_people_routes_or_summary_is_named_with_its_line() -> None:
    text = config_text("summary: {email: [eng-at-example.com]}\n").replace(
        'name: Dave}', 'name: Dave, email: "dave@@example.com"}')
    found = "\n".join(problems(text))
    assert "line 13: people.3.email: 'dave@@example.com' is not an email address: The part after the @-sign" in found
    assert "summary.email.0: 'eng-at-example.com' is not an email address: An email address must have an @-sign." \
        in found, found


def test_serve_says_at_start_why_configured_email_would_not_go_out() -> None:
    config = email_config("summary: {email: [eng@example.com]}\n")
    assert email_warning(Settings(), config) == (
        "the config sends email (teams.platform.escalation, summary.email) but SMTP_URL and EMAIL_FROM are not set")
    assert email_warning(Settings(smtp_url="smtp://127.0.0.1:25"), config) == (
        "email is off: SMTP_URL is set but EMAIL_FROM is not")
    assert email_warning(Settings(email_from="pager@example.com"), config) == (
        "email is off: EMAIL_FROM is set but SMTP_URL is not")
    assert email_warning(Settings(smtp_url="smtp://127.0.0.1:25", email_from="pager@example.com"), config) is None
    assert email_warning(Settings(), parse_config(config_text(), env=TOKENS)) is None  # no email anywhere
