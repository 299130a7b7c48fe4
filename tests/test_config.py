"""Config validation as an operator meets it: `watchstander check-config` output and exit code."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.config import Config, ConfigError, load_config, parse_config
from bot.severity import Severity
from tests.support.factories import TOKENS, config_text

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>\S*)\s*$")


@dataclass(frozen=True)
class YamlBlock:
    doc: Path
    line: int  # of the block's first line in the document
    text: str

    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)} line {self.line}"


def yaml_blocks(doc: Path) -> list[YamlBlock]:
    """The fenced ```yaml blocks of a Markdown document, dedented (blocks inside list items are indented)."""
    blocks: list[YamlBlock] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        i += 1
        if not opening:
            continue
        start = i
        while i < len(lines) and not FENCE.match(lines[i]):
            i += 1
        if opening["lang"] in ("yaml", "yml"):
            blocks.append(YamlBlock(doc, start + 1, textwrap.dedent("\n".join(lines[start:i])) + "\n"))
        i += 1  # the closing fence
    return blocks


def is_watchstander_config(block: YamlBlock) -> bool:
    """A Watchstander config or a part of one: it has a top-level key the config knows.

    Blocks of other tools' configs (alertmanager.yml, the Slack manifest) share none of its keys.
    """
    data = yaml.safe_load(block.text)
    return isinstance(data, dict) and bool(set(data) & set(Config.model_fields))


def watchstander_configs() -> list[YamlBlock]:
    return [b for doc in DOCS for b in yaml_blocks(doc) if is_watchstander_config(b)]


def load_example(block: YamlBlock, tmp_path: Path) -> Config:
    """The block as a config file of its own, through the loader `serve` uses.

    A fragment (say, just `summary:`) is thereby checked as part of a minimal config: every
    section it leaves out takes its default. Each `${NAME}` it references is set to a dummy.
    """
    env = {name: f"dummy-{name.lower()}-value" for name in re.findall(r"\$\{(\w+)\}", block.text)}
    path = tmp_path / "watchstander.yaml"
    path.write_text(block.text, encoding="utf-8")
    try:
        return load_config(path, env=env)
    except ConfigError as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
    pytest.fail(f"the config example at {block.where()} does not load (lines within the block):\n{problems}")


@pytest.mark.parametrize("block", watchstander_configs(), ids=lambda b: b.where())
def test_every_config_example_in_the_docs_loads(block: YamlBlock, tmp_path: Path) -> None:
    load_example(block, tmp_path)


def test_the_readme_config_example_is_complete_and_means_what_it_says(tmp_path: Path) -> None:
    [full] = [b for b in watchstander_configs() if {"people", "teams", "integrations"} <= set(yaml.safe_load(b.text))]
    assert full.doc.name == "README.md"
    config = load_example(full, tmp_path)
    platform = config.team("platform")
    assert platform is not None and platform.channel == "platform-alerts"
    assert [s.after.total_seconds() for s in platform.escalation] == [0, 300, 600, 1200]
    assert platform.repeat == 1 and platform.calendar_token == "dummy-platform_ics_token-value"
    assert [i.type for i in config.integrations] == ["alertmanager", "pagerduty", "grafana", "sentry", "generic"]
    critical = config.severities["critical"].ack_within
    assert critical is not None and critical.total_seconds() == 300


def test_a_wrong_example_would_be_caught(tmp_path: Path) -> None:
    foreign = YamlBlock(ROOT / "README.md", 1, "receivers:\n  - name: watchstander\n")
    assert not is_watchstander_config(foreign)
    wrong = YamlBlock(ROOT / "README.md", 7, "summary: {weekday: monday}\n")
    assert is_watchstander_config(wrong)
    with pytest.raises(pytest.fail.Exception, match=r"README.md line 7 does not load.*\n  line 1: summary.weekday"):
        load_example(wrong, tmp_path)


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


def test_checks_heartbeats_watchdog_and_status_page_references_are_checked() -> None:
    text = config_text("""
checks:
  - {name: api-health, url: "https://example.com/health", team: platfrom}
  - {name: api-health, tls: "example.com"}
  - {name: both, url: "https://example.com/", tls: "example.com:443"}
  - {name: hasty, url: "https://example.com/", down_after: 0s}
heartbeats:
  - {name: nightly-backup, every: 30s, token: "backup-token-1"}
watchdog: {integration: scripts}
status_page: {checks: [api-health, shop-tls], public: false}
""").replace("  - {name: scripts, type: generic", "  - {name: watchstander, type: generic")
    found = "\n".join(problems(text))
    for expected in ("checks.2: check 'both': give either url: (an HTTP check) or tls: host:port",
                     "checks.3: check 'hasty': down_after must be more than 0s",
                     "heartbeats.0.every: every must be at least 1m",
                     "status_page: public: false needs token: (readers open /status?token=…)"):
        assert expected in found, found
    text = config_text("""
checks:
  - {name: api-health, url: "https://example.com/health", team: platfrom}
  - {name: api-health, tls: "example.com"}
watchdog: {integration: scripts}
status_page: {checks: [api-health, shop-tls]}
""").replace("  - {name: scripts, type: generic", "  - {name: watchstander, type: generic")
    found = "\n".join(problems(text))
    for expected in ("checks: the name 'api-health' is used twice", "checks.0.team: no team named 'platfrom'",
                     "watchdog.integration: no integration named 'scripts'",
                     "status_page.checks.1: no check named 'shop-tls'",
                     "integrations: the name 'watchstander' is Watchstander's own"):
        assert expected in found, found


def test_unset_environment_variable_is_named_once() -> None:
    env = dict(TOKENS)
    del env["AM_TOKEN"]
    with pytest.raises(ConfigError) as err:
        parse_config(config_text(), env=env)
    assert [str(p).split("\n")[0] for p in err.value.problems] == [
        "line 37: integrations.0.token: environment variable AM_TOKEN is not set"
    ]


def test_daily_summary_defaults_and_its_errors() -> None:
    assert parse_config(config_text(), env=TOKENS).daily_summary is None  # no section, no digest
    config = parse_config(config_text("daily_summary: {channel: ops}\n"), env=TOKENS)
    assert config.daily_summary is not None
    assert (config.daily_summary.time.isoformat(), config.daily_summary.timezone, config.daily_summary.email) == (
        "08:30:00", None, [])
    assert problems(config_text("daily_summary: {time: \"07:00\", timezone: Europe/Berlin}\n")) == [
        "line 42: daily_summary: say where the digest goes: channel: (a Slack channel), email: (a list of "
        "addresses), or both"]
    found = problems(config_text("daily_summary:\n  channel: ops\n  email: [eng@example.com, eng.example.com]\n"
                                 "  timezone: Europe/Berln\n"))
    assert len(found) == 2, found
    assert found[0].startswith("line 45: daily_summary.timezone: unknown time zone 'Europe/Berln'"), found
    assert found[1] == "line 44: daily_summary.email.1: value is not a valid email address: An email address must have an @-sign.", found


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
    # the hint points at an example that exists
    assert "hint: create it (the README's Configuration section has an example)" in missing.stdout


def test_ack_timeout_is_a_duration_of_at_least_a_minute() -> None:
    config = parse_config(config_text("severities:\n  critical: {escalate: true, ack_timeout: 30m}\n"), env=TOKENS)
    assert config.severities[Severity.CRITICAL].ack_timeout == timedelta(minutes=30)
    assert config.severities[Severity.HIGH].ack_timeout is None  # not given: an acknowledgement holds
    assert problems(config_text("severities:\n  critical: {escalate: true, ack_timeout: 30s}\n")) == [
        "line 43: severities.critical.ack_timeout: ack_timeout must be at least 1m: it is how long an "
        "acknowledgement holds before the alert fires again (e.g. 30m)"]
    found = problems(config_text("severities:\n  high:\n    escalate: true\n    ack_timeout: soon\n"))
    assert len(found) == 1 and found[0].startswith("line 45: severities.high.ack_timeout: cannot read 'soon'"), found
