"""Playbooks: the shipped files load, realistic alerts find the right one, bad files say where."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.incidents.playbooks import (
    PLAYBOOKS_ENV,
    ChecklistItem,
    Playbook,
    PlaybookError,
    StepGroup,
    checklist,
    default_playbook_dir,
    load_playbooks,
    match_playbook,
    playbook_by_id,
)
from bot.severity import Severity

REPO_PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"

SHIPPED = {
    "service-down": "Service down",
    "high-error-rate": "High error rate",
    "slow-responses": "Slow responses",
    "database-connection-exhaustion": "Database connection exhaustion",
    "payment-processing-failures": "Payment processing failures",
    "high-memory-cpu": "High memory / CPU",
    "tls-certificate-expiry": "TLS certificate expiry",
    "failed-backups": "Failed backups",
}


@pytest.fixture(scope="module")
def shipped() -> list[Playbook]:
    return load_playbooks(REPO_PLAYBOOKS)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


VALID = """\
name: {name}
match: {{alertname: "~^{alert}$"}}
severity: high
summary: Something is wrong.
steps:
  investigate: [Look at it]
  mitigate: [Roll back]
  fix: [Fix it]
"""


# --- the shipped playbooks -----------------------------------------------------------------------


def test_every_shipped_playbook_loads_with_its_spec_name(shipped: list[Playbook]) -> None:
    assert {p.id: p.name for p in shipped} == SHIPPED
    assert [p.id for p in shipped] == sorted(SHIPPED)  # file-name order


@pytest.mark.parametrize("playbook_id", sorted(SHIPPED))
def test_shipped_playbook_is_complete(shipped: list[Playbook], playbook_id: str) -> None:
    playbook = playbook_by_id(shipped, playbook_id)
    assert playbook is not None
    assert len(playbook.summary) > 80
    assert len(playbook.steps.investigate) >= 4
    assert len(playbook.steps.mitigate) >= 4
    assert len(playbook.steps.fix) >= 3
    assert playbook.links
    assert all(link.url.startswith("https://") for link in playbook.links)
    assert any("`" in step for step in playbook.steps.investigate), "investigate steps should show commands"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # service down
        ({"alertname": "TargetDown", "job": "api"}, "service-down"),
        ({"alertname": "InstanceDown", "instance": "10.0.0.7:9100"}, "service-down"),
        ({"alertname": "ServiceDown", "service": "api"}, "service-down"),
        ({"alertname": "BlackboxProbeFailed"}, "service-down"),
        ({"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "api-7d9f"}, "service-down"),
        ({"alertname": "KubeDeploymentReplicasMismatch"}, "service-down"),
        ({"alertname": "Service down"}, "service-down"),  # a Grafana rule title
        ({"alertname": "Health check failing"}, "service-down"),
        # high error rate
        ({"alertname": "HighErrorRate", "service": "api"}, "high-error-rate"),
        ({"alertname": "ErrorRateHigh"}, "high-error-rate"),
        ({"alertname": "NginxHighHttp5xxErrorRate"}, "high-error-rate"),
        ({"alertname": "TraefikHighHttp5xxErrorRateService"}, "high-error-rate"),
        ({"alertname": "ErrorBudgetBurn", "slo": "api-availability"}, "high-error-rate"),
        ({"alertname": "API error rate"}, "high-error-rate"),
        # slow responses
        ({"alertname": "HighLatency", "service": "api"}, "slow-responses"),
        ({"alertname": "HighRequestLatency"}, "slow-responses"),
        ({"alertname": "APIp99LatencyHigh"}, "slow-responses"),
        ({"alertname": "SlowResponses"}, "slow-responses"),
        ({"alertname": "ApdexScoreLow"}, "slow-responses"),
        # database connection exhaustion
        ({"alertname": "PostgresTooManyConnections"}, "database-connection-exhaustion"),
        ({"alertname": "PostgresqlTooManyConnections"}, "database-connection-exhaustion"),
        ({"alertname": "PostgreSQLMaxConnectionsReached"}, "database-connection-exhaustion"),
        ({"alertname": "PostgreSQLHighConnections"}, "database-connection-exhaustion"),
        ({"alertname": "MysqlTooManyConnections(>80%)"}, "database-connection-exhaustion"),
        ({"alertname": "PgbouncerActiveConnections"}, "database-connection-exhaustion"),
        ({"alertname": "HikariConnectionPoolExhausted"}, "database-connection-exhaustion"),
        # payment processing failures
        ({"alertname": "PaymentFailureRateHigh"}, "payment-processing-failures"),
        ({"alertname": "PaymentErrorRate"}, "payment-processing-failures"),
        ({"alertname": "CheckoutLatencyHigh"}, "payment-processing-failures"),
        ({"alertname": "StripeWebhookFailures"}, "payment-processing-failures"),
        ({"alertname": "HighErrorRate", "service": "payments"}, "payment-processing-failures"),
        # high memory / CPU
        ({"alertname": "HostOutOfMemory"}, "high-memory-cpu"),
        ({"alertname": "HostHighCpuLoad"}, "high-memory-cpu"),
        ({"alertname": "CPUThrottlingHigh", "namespace": "shop"}, "high-memory-cpu"),
        ({"alertname": "KubeMemoryOvercommit"}, "high-memory-cpu"),
        ({"alertname": "ContainerHighMemoryUsage"}, "high-memory-cpu"),
        ({"alertname": "NodeMemoryHighUtilization"}, "high-memory-cpu"),
        ({"alertname": "HostOomKillDetected"}, "high-memory-cpu"),
        ({"alertname": "JvmHeapFillingUp"}, "high-memory-cpu"),
        # TLS certificate expiry
        ({"alertname": "SSLCertExpiringSoon", "instance": "https://shop.example.com"},
         "tls-certificate-expiry"),
        ({"alertname": "BlackboxSslCertificateWillExpireSoon"}, "tls-certificate-expiry"),
        ({"alertname": "CertManagerCertExpirySoon"}, "tls-certificate-expiry"),
        ({"alertname": "CertManagerCertNotReady"}, "tls-certificate-expiry"),
        ({"alertname": "KubeClientCertificateExpiration"}, "tls-certificate-expiry"),
        ({"alertname": "X509CertificateExpiring"}, "tls-certificate-expiry"),
        # failed backups
        ({"alertname": "BackupFailed"}, "failed-backups"),
        ({"alertname": "BackupTooOld"}, "failed-backups"),
        ({"alertname": "VeleroBackupPartialFailures", "schedule": "daily"}, "failed-backups"),
        ({"alertname": "PostgresqlWALArchivingFailing"}, "failed-backups"),
        ({"alertname": "KubeJobFailed", "job_name": "db-backup-28912345"}, "failed-backups"),
        # nothing fits
        ({"alertname": "Watchdog"}, None),
        ({"alertname": "KubeJobFailed", "job_name": "send-newsletter-1"}, None),
        ({"service": "api"}, None),
        ({}, None),
    ],
)
def test_realistic_alerts_find_the_right_playbook(
    shipped: list[Playbook], labels: dict[str, str], expected: str | None
) -> None:
    found = match_playbook(shipped, labels)
    assert (found.id if found else None) == expected


# --- matching rules ------------------------------------------------------------------------------


def test_more_specific_match_set_wins_over_file_order(tmp_path: Path) -> None:
    write(tmp_path, "a-generic.yaml", VALID.format(name="Generic", alert="HighErrorRate"))
    write(tmp_path, "b-specific.yaml", """\
name: Specific
match:
  - {alertname: HighErrorRate, service: "~^pay"}
severity: critical
summary: Payments.
steps: {investigate: [Look]}
""")
    playbooks = load_playbooks(tmp_path)
    generic = match_playbook(playbooks, {"alertname": "HighErrorRate", "service": "api"})
    specific = match_playbook(playbooks, {"alertname": "HighErrorRate", "service": "payments"})
    assert generic is not None and generic.id == "a-generic"
    assert specific is not None and specific.id == "b-specific"


def test_ties_go_to_the_first_file(tmp_path: Path) -> None:
    write(tmp_path, "20-second.yaml", VALID.format(name="Second", alert="Boom"))
    write(tmp_path, "10-first.yaml", VALID.format(name="First", alert="Boom"))
    found = match_playbook(load_playbooks(tmp_path), {"alertname": "Boom"})
    assert found is not None and found.id == "10-first"


def test_match_accepts_one_mapping_or_a_list(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", VALID.format(name="One", alert="One"))
    write(tmp_path, "many.yaml", """\
name: Many
match:
  - {alertname: Two}
  - {job: three, env: "~^prod"}
severity: low
summary: Either.
steps: {fix: [Do it]}
""")
    playbooks = load_playbooks(tmp_path)
    one, many = playbook_by_id(playbooks, "one"), playbook_by_id(playbooks, "many")
    assert one is not None and many is not None
    assert one.match == [{"alertname": "~^One$"}]
    assert match_playbook(playbooks, {"alertname": "Two"}) == many
    assert match_playbook(playbooks, {"job": "three", "env": "prod-eu"}) == many
    assert match_playbook(playbooks, {"job": "three", "env": "staging"}) is None
    assert many.severity is Severity.LOW


# --- checklist -----------------------------------------------------------------------------------


def test_checklist_has_stable_ids_in_reading_order(shipped: list[Playbook]) -> None:
    playbook = playbook_by_id(shipped, "service-down")
    assert playbook is not None
    items = checklist(playbook)
    steps = playbook.steps
    assert len(items) == len(steps.investigate) + len(steps.mitigate) + len(steps.fix)
    assert items[0] == ChecklistItem(playbook_id="service-down", id="investigate-1",
                                     group=StepGroup.INVESTIGATE, text=steps.investigate[0])
    assert items[len(steps.investigate)].id == "mitigate-1"
    assert items[-1].id == f"fix-{len(steps.fix)}"
    assert [i.group for i in items] == sorted((i.group for i in items), key=list(StepGroup).index)
    assert len({i.id for i in items}) == len(items)
    assert checklist(playbook) == items  # same playbook, same ids
    assert StepGroup.MITIGATE.heading == "Mitigate"


def test_checklist_skips_empty_groups(tmp_path: Path) -> None:
    write(tmp_path, "x.yaml", "name: X\nmatch: {a: b}\nseverity: info\nsummary: s\n"
                              "steps: {fix: [one, two]}\n")
    (playbook,) = load_playbooks(tmp_path)
    assert [i.id for i in checklist(playbook)] == ["fix-1", "fix-2"]


# --- broken files --------------------------------------------------------------------------------


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(directory)
    return [str(p) for p in caught.value.problems]


def test_every_problem_in_every_file_is_reported_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", VALID.format(name="Good", alert="Good"))
    bad = write(tmp_path, "bad.yaml", """\
name: Bad
match:
  alertname: "~(unclosed"
  code: 500
severity: sev1
summary: ""
steps:
  investigate: [Look, ""]
  mitigation: [Roll back]
links:
  - {text: Docs, url: "ftp://example.com"}
owner: team-a
""")
    broken = write(tmp_path, "broken.yaml", "name: Broken\nmatch: [\n")
    problems = problems_of(tmp_path)
    assert len(problems) == 9, problems
    expected = [
        (bad, 3, "match.alertname", "bad regular expression"),
        (bad, 4, "match.code", "quote the value"),
        (bad, 5, "severity", "critical"),
        (bad, 6, "summary", "must not be empty"),
        (bad, 8, "steps.investigate.1", "must not be empty"),
        (bad, 9, "steps.mitigation", "unknown key"),
        (bad, 11, "links.0.url", "http"),
        (bad, 12, "owner", "unknown key"),
        (broken, 3, "(yaml)", ""),
    ]
    for path, line, key, words in expected:
        prefix = f"{path}:{line}: {key}: "
        assert any(p.startswith(prefix) and words in p for p in problems), (prefix, words, problems)


def test_the_error_message_lists_all_problems_one_per_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: A\nseverity: high\nsummary: s\nsteps: {fix: [x]}\n")
    write(tmp_path, "b.yaml", "- just\n- a list\n")
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(tmp_path)
    lines = str(caught.value).splitlines()
    assert lines == [f"{tmp_path / 'a.yaml'}:1: match: Field required",
                     f"{tmp_path / 'b.yaml'}:1: (top level): a playbook must be a mapping of keys"]
    assert caught.value.report().startswith("2 playbook problem(s):")


def test_empty_match_sets_and_steps_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", "name: E\nmatch: []\nseverity: high\nsummary: s\nsteps: {}\n")
    write(tmp_path, "blank.yaml", "name: B\nmatch:\n  - {}\nseverity: high\nsummary: s\nsteps: {fix: [x]}\n")
    problems = problems_of(tmp_path)
    assert any(p.startswith(f"{tmp_path / 'empty.yaml'}:2: match: ") for p in problems), problems
    assert any(p.startswith(f"{tmp_path / 'empty.yaml'}:5: steps: ") and "at least one step" in p
               for p in problems), problems
    assert any(p.startswith(f"{tmp_path / 'blank.yaml'}:3: match.0: ") for p in problems), problems


def test_duplicate_keys_ids_and_names_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "dup-key.yaml", VALID.format(name="Dup", alert="D") + "severity: low\n")
    write(tmp_path, "other-id.yaml", "id: something-else\n" + VALID.format(name="Other", alert="O"))
    write(tmp_path, "same.yaml", VALID.format(name="Same", alert="S"))
    write(tmp_path, "same.yml", VALID.format(name="Same too", alert="S"))
    write(tmp_path, "twin.yaml", VALID.format(name="Same", alert="T"))
    problems = problems_of(tmp_path)
    assert f"{tmp_path / 'dup-key.yaml'}:9: severity: key appears twice" in problems
    assert any(p.startswith(f"{tmp_path / 'other-id.yaml'}:1: id: the id is the file name") for p in problems)
    assert any(p.startswith(f"{tmp_path / 'same.yml'}: (file): same id as same.yaml") for p in problems)
    assert any(p.startswith(f"{tmp_path / 'twin.yaml'}: name: 'Same' is already") for p in problems)


def test_an_id_equal_to_the_file_name_is_allowed(tmp_path: Path) -> None:
    write(tmp_path, "ok.yaml", "id: ok\n" + VALID.format(name="Ok", alert="Ok"))
    assert [p.id for p in load_playbooks(tmp_path)] == ["ok"]


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "nope")
    assert len(problems) == 1 and "not a directory" in problems[0]


def test_other_files_in_the_directory_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "x.yaml", VALID.format(name="X", alert="X"))
    write(tmp_path, "postmortem.md.j2", "{{ nonsense")
    write(tmp_path, "README.md", "# notes")
    assert [p.id for p in load_playbooks(tmp_path)] == ["x"]


# --- where the playbooks are found ---------------------------------------------------------------


def test_env_variable_wins_even_when_missing(tmp_path: Path) -> None:
    chosen = tmp_path / "custom"
    assert default_playbook_dir(env={PLAYBOOKS_ENV: str(chosen)}, cwd=tmp_path) == chosen


def test_working_directory_playbooks_come_next(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    assert default_playbook_dir(env={}, cwd=tmp_path) == tmp_path / "playbooks"


def test_falls_back_to_the_repository_playbooks(tmp_path: Path) -> None:
    found = default_playbook_dir(env={}, cwd=tmp_path)
    assert found.resolve() == REPO_PLAYBOOKS
    assert re.search(r"playbooks$", str(found))
