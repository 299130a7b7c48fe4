"""Watchstander's five alert severities, and how the severities monitoring tools send map onto them.

A word of the config (``severities:``, routes) as much as of every alert, so it lives below both.
Unknown or missing severities map to ``high``: an alert we cannot classify should still page
rather than sit unseen in a channel.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


DEFAULT_SEVERITY = Severity.HIGH

_ALIASES: dict[str, Severity] = {
    # the five names themselves
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.INFO,
    # log levels (syslog, Sentry, Python logging) and common spellings
    "crit": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "emerg": Severity.CRITICAL,
    "alert": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "disaster": Severity.CRITICAL,  # Zabbix
    "error": Severity.HIGH,
    "err": Severity.HIGH,
    "major": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "average": Severity.MEDIUM,  # Zabbix
    "minor": Severity.LOW,
    "notice": Severity.LOW,
    "informational": Severity.INFO,
    "information": Severity.INFO,
    "none": Severity.INFO,
    "debug": Severity.INFO,
    # priorities (Opsgenie, Datadog, PagerDuty incident priorities)
    "p0": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "p2": Severity.HIGH,
    "p3": Severity.MEDIUM,
    "p4": Severity.LOW,
    "p5": Severity.INFO,
    # incident levels
    "sev0": Severity.CRITICAL,
    "sev1": Severity.CRITICAL,
    "sev2": Severity.HIGH,
    "sev3": Severity.MEDIUM,
    "sev4": Severity.LOW,
    "sev5": Severity.INFO,
}

# "SEV-1", "sev 1", "Sev_1", " P 2 " -> "sev1", "p2"
_SEPARATORS = re.compile(r"[\s_-]+")


def map_severity(raw: str | None) -> Severity:
    """The Watchstander severity for a source's severity string, case- and spacing-insensitive."""
    if raw is None:
        return DEFAULT_SEVERITY
    key = _SEPARATORS.sub("", raw[:32].strip().lower())
    return _ALIASES.get(key, DEFAULT_SEVERITY)
