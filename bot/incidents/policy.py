"""The rules incidents follow, taken from the config once: severities, who may resolve, names, zone.

Keeping them in one value lets the domain functions stay free of the config object and lets
tests state a policy in one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.config import Config, IncidentSeverity
from bot.incidents.playbooks import Playbook

_SEVERITY = re.compile(r"^(?:sev)?\s*(\d)$", re.IGNORECASE)

# Roles besides the commander; aliases people type map onto them.
ROLES = ("commander", "comms", "scribe")
ROLE_ALIASES = {
    "commander": "commander", "ic": "commander", "incident-commander": "commander", "lead": "commander",
    "comms": "comms", "communications": "comms", "communication": "comms",
    "scribe": "scribe", "notes": "scribe", "note-taker": "scribe",
}

# Statuses in the order an incident moves through them; "monitoring" means mitigated.
STATUSES = ("investigating", "identified", "monitoring", "resolved")
STATUS_ALIASES = {
    "investigating": "investigating", "identified": "identified", "monitoring": "monitoring",
    "mitigated": "monitoring", "fixed": "monitoring",
}
MITIGATED = "monitoring"

# An alert's severity suggests the incident's when one is declared from it.
_SUGGESTED = {"critical": "SEV1", "high": "SEV2"}


class UnknownSeverity(ValueError):
    """The text is not one of the configured severities; ``str()`` says which ones there are."""


@dataclass(frozen=True)
class IncidentPolicy:
    severities: Mapping[str, IncidentSeverity]
    zone: ZoneInfo
    channel_prefix: str = "inc"
    admins: frozenset[str] = frozenset()
    playbooks: Sequence[Playbook] = field(default_factory=tuple)

    @classmethod
    def from_config(cls, config: Config, playbooks: Sequence[Playbook] = ()) -> IncidentPolicy:
        return cls(severities=dict(config.incident_severities), zone=config.zone(),
                   channel_prefix=config.slack.incident_channel_prefix, admins=frozenset(config.slack.admins),
                   playbooks=tuple(playbooks))

    @property
    def severity_names(self) -> list[str]:
        return sorted(self.severities)

    def severity(self, text: str) -> str:
        """``"1"``, ``"sev1"``, ``"SEV1"`` → ``"SEV1"``; UnknownSeverity for anything else."""
        m = _SEVERITY.match(text.strip())
        name = f"SEV{m.group(1)}" if m else text.strip().upper()
        if name not in self.severities:
            choices = ", ".join(f"{n} ({self.severities[n].description})" for n in self.severity_names)
            shown = text.strip() or "an empty severity"
            numbers = "|".join(n.removeprefix("SEV") for n in self.severity_names)
            raise UnknownSeverity(f"{shown} is not an incident severity here; use {numbers}: {choices}.")
        return name

    def update_every(self, severity: str) -> timedelta:
        policy = self.severities.get(severity)
        return policy.update_every if policy else timedelta(hours=1)

    def suggested_severity(self, alert_severity: str | None) -> str | None:
        name = _SUGGESTED.get(alert_severity or "", "SEV3")
        return name if name in self.severities else None


def parse_role(text: str) -> str | None:
    return ROLE_ALIASES.get(text.strip().lower())


PUBLIC_FLAGS = ("--public", "—public", "–public")  # phones and Slack's editor turn "--" into a dash


def parse_public(text: str) -> tuple[bool, str]:
    """``--public`` before the update's text (before or after the status word) publishes it:
    ``"monitoring --public Fix deployed"`` → ``(True, "monitoring Fix deployed")``. The flag later in
    the text is the text's own."""
    # The first two words, split on any whitespace (two spaces, a newline); the rest keeps its layout.
    parts = re.match(r"\s*(\S+)(\s+(\S+))?(.*)", text, re.DOTALL)
    if parts is None:
        return False, text.strip()
    first, second, rest = parts.group(1), parts.group(3), parts.group(4)
    if first.lower() in PUBLIC_FLAGS:
        return True, f"{second or ''}{rest}".strip()
    if second is not None and second.lower() in PUBLIC_FLAGS:
        return True, f"{first}{rest}".strip() if rest.strip() else first
    return False, text.strip()


def parse_status(text: str) -> tuple[str | None, str]:
    """``"monitoring: error rate back to normal"`` → ``("monitoring", "error rate back to normal")``;
    text without a leading status word keeps the current status."""
    head, _, rest = text.strip().partition(" ")
    status = STATUS_ALIASES.get(head.rstrip(":,.-").lower())
    if status is None:
        return None, text.strip()
    return status, rest.strip().lstrip(":-– ").strip()
