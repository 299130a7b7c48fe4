"""What the incident features load once at start: the policy, the playbooks and the post-mortem
template — validated then, so a typo in a playbook or a broken template stops ``serve`` with a
message naming the file and line instead of failing in the middle of an incident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.incidents.playbooks import (
    ChecklistItem,
    Playbook,
    PlaybookError,
    checklist,
    default_playbook_dir,
    load_playbooks,
    playbook_by_id,
)
from bot.incidents.policy import IncidentPolicy
from bot.incidents.postmortem import (
    TEMPLATE_NAME,
    PostmortemTemplateError,
    default_postmortem_template,
    render_postmortem,
)
from bot.incidents.postmortem_context import Durations, ImpactWindow, IncidentFacts, PostmortemContext


class IncidentKitError(Exception):
    """Playbooks or the post-mortem template are unusable; ``str()`` lists every problem."""


@dataclass(frozen=True)
class IncidentKit:
    policy: IncidentPolicy
    template: Path
    timezone: str

    @property
    def playbooks(self) -> tuple[Playbook, ...]:
        return tuple(self.policy.playbooks)

    def playbook(self, playbook_id: str | None) -> Playbook | None:
        return playbook_by_id(self.playbooks, playbook_id) if playbook_id else None

    def checklist_item(self, playbook_id: str | None, item_id: str) -> ChecklistItem | None:
        playbook = self.playbook(playbook_id)
        return next((i for i in checklist(playbook) if i.id == item_id), None) if playbook else None


def _try_template(template: Path, timezone: str) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    sample = PostmortemContext(
        incident=IncidentFacts(id=0, title="Template check", severity="SEV1", status="resolved", channel="inc",
                               declared_at=t0),
        impact=ImpactWindow(start=t0, end=t0), durations=Durations(), timezone=timezone,
    )
    render_postmortem(sample, template)


def load_incident_kit(config: Config, *, playbook_dir: Path | None = None,
                      template: Path | None = None) -> IncidentKit:
    """Load and check playbooks and template; IncidentKitError says what is wrong and where."""
    try:
        directory = playbook_dir or default_playbook_dir()
        playbooks = load_playbooks(directory)
        if template is None:
            own = directory / TEMPLATE_NAME  # an operator's playbook folder may bring its own template
            template = own if own.is_file() else default_postmortem_template()
        _try_template(template, config.timezone)
    except PlaybookError as exc:
        raise IncidentKitError(exc.report()) from None
    except PostmortemTemplateError as exc:
        raise IncidentKitError(f"post-mortem template: {exc}") from None
    return IncidentKit(policy=IncidentPolicy.from_config(config, playbooks), template=template,
                       timezone=config.timezone)
