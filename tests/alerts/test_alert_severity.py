from __future__ import annotations

import pytest

from bot.severity import Severity, map_severity


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("critical", Severity.CRITICAL),
        ("high", Severity.HIGH),
        ("medium", Severity.MEDIUM),
        ("low", Severity.LOW),
        ("info", Severity.INFO),
        ("CRITICAL", Severity.CRITICAL),
        ("  Warning \n", Severity.MEDIUM),
        ("error", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("warn", Severity.MEDIUM),
        ("fatal", Severity.CRITICAL),
        ("page", Severity.CRITICAL),
        ("notice", Severity.LOW),
        ("informational", Severity.INFO),
        ("information", Severity.INFO),
        ("none", Severity.INFO),
        ("debug", Severity.INFO),
        ("P1", Severity.CRITICAL),
        ("p2", Severity.HIGH),
        ("P3", Severity.MEDIUM),
        ("P4", Severity.LOW),
        ("P5", Severity.INFO),
        ("sev1", Severity.CRITICAL),
        ("SEV-1", Severity.CRITICAL),
        ("sev 1", Severity.CRITICAL),
        ("Sev_2", Severity.HIGH),
        ("SEV3", Severity.MEDIUM),
        ("sev-4", Severity.LOW),
        ("sev5", Severity.INFO),
        ("disaster", Severity.CRITICAL),
        ("average", Severity.MEDIUM),
    ],
)
def test_known_severities_map_case_and_spacing_insensitively(raw: str, expected: Severity) -> None:
    assert map_severity(raw) is expected


@pytest.mark.parametrize("raw", [None, "", "   ", "urgent-ish", "P9", "sev", "5", "x" * 10_000])
def test_unknown_or_missing_severity_is_high(raw: str | None) -> None:
    assert map_severity(raw) is Severity.HIGH
