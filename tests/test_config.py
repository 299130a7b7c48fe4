"""Config validation as an operator meets it: `watchstander check-config` output and exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config
from tests.support.factories import TOKENS, config_text, make_config


def test_the_spec_example_config_is_valid() -> None:
    config = make_config()
    platform = config.team("platform")
    assert platform is not None and platform.channel == "platform-alerts"
    assert [s.after.total_seconds() for s in platform.escalation] == [0, 300, 600, 1200]
    assert config.severities["critical"].ack_within is not None


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text, env=TOKENS)
    return [str(p) for p in err.value.problems]


def test_errors_name_the_line_and_the_key() -> None:
    text = config_text().replace("after: 5m", "after: 5 parsecs").replace("alerts_channel", "alert_channel")
    found = problems(text)
    assert any(p.startswith("line 4: slack.alert_channel: Extra inputs are not permitted") for p in found)
    assert any(p.startswith("line 27: teams.0.escalation.1.after: cannot read '5 parsecs'") for p in found)


def test_references_to_unknown_people_and_teams_are_reported() -> None:
    text = config_text().replace("backup:  [U0BOB0001, U0CAROL01, U0ALICE01]", "backup:  [U0NOBODY1]")
    text = text.replace("team: payments}", "team: paymnets}")
    assert problems(text) == [
        "line 23: teams.0.schedule.backup: U0NOBODY1 is not listed under people",
        "line 35: routes.1.team: no team named 'paymnets'",
    ]


def test_unset_environment_variable_is_named_once() -> None:
    env = dict(TOKENS)
    del env["AM_TOKEN"]
    with pytest.raises(ConfigError) as err:
        parse_config(config_text(), env=env)
    assert [str(p).split("\n")[0] for p in err.value.problems] == [
        "line 37: integrations.0.token: environment variable AM_TOKEN is not set"
    ]


@pytest.mark.parametrize("bad, message", [
    ("phone: \"+15550000001\"", "phone must be in E.164 form"),
    ("timezone: Europe/Berlin}", "unknown time zone"),
    ("[slack:primary]}", "unknown target"),
])
def test_field_errors_have_helpful_messages(bad: str, message: str) -> None:
    replacement = {"phone: \"+15550000001\"": "phone: \"555-0001\"", "timezone: Europe/Berlin}": "timezone: Mars/Olympus}",
                   "[slack:primary]}": "[pager:primary]}"}[bad]
    text = config_text().replace(bad, replacement, 1)
    assert any(message in p for p in problems(text))


def test_yaml_syntax_error_points_at_the_line() -> None:
    found = problems("timezone: UTC\nslack:\n  alerts_channel: [unclosed\n")
    assert found[0].startswith("line ")
    assert "hint: fix the YAML syntax" in found[0]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_check_config_command(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(config_text())
    import os

    env = {**os.environ, **TOKENS}
    ok = run_cli("check-config", str(good), env=env)
    assert ok.returncode == 0, ok.stderr
    assert "OK — 2 team(s), 4 people, 5 integration(s), 2 route(s)" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(config_text().replace("rotation: weekly", "rotation: fortnightly"))
    failed = run_cli("check-config", str(bad), env=env)
    assert failed.returncode == 1
    assert "line 18: teams.0.schedule.rotation: rotation must be weekly, daily, or a duration" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    missing = run_cli("check-config", str(tmp_path / "nope.yaml"), env=env)
    assert missing.returncode == 1 and "file not found" in missing.stdout
