"""What every vendor's export is read into, before it is mapped onto Watchstander's config.

The shapes follow what the three tools have in common: people with contact methods and
notification rules, schedules made of layers (a rotation of people with a turn length, perhaps
restricted to some hours), overrides, escalation policies of delayed steps, and the services or
integrations alerts arrive through. Anything a reader cannot place here becomes an
:class:`Unmapped` with the reason, so the plan can list it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal

from bot.oncall.shifts import Shift

Via = Literal["slack", "sms", "call", "email"]


@dataclass(frozen=True, slots=True)
class Unmapped:
    """Something in the old system the import does not carry over, and why."""

    kind: str  # "person", "schedule", "policy step", "integration", ...
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportedRule:
    """Reach the person by ``via`` this long after they are paged."""

    after: timedelta
    via: Via
    note: str = ""  # e.g. "push notification → Slack DM"


@dataclass(slots=True)
class ImportedPerson:
    vendor_id: str
    name: str
    email: str | None
    timezone: str | None
    phone: str | None = None  # E.164
    rules: list[ImportedRule] = field(default_factory=list)
    slack_id: str | None = None  # found by e-mail in Slack


@dataclass(frozen=True, slots=True)
class Restriction:
    """The layer only covers these local windows: every day, or one day of the week."""

    start: time
    length: timedelta
    weekday: int | None = None  # 0 = Monday; None = every day


@dataclass(frozen=True, slots=True)
class ImportedLayer:
    name: str
    start: datetime
    end: datetime | None
    virtual_start: datetime  # turn 0 begins here (may be before start)
    turn: timedelta
    members: list[str]  # vendor user ids, in rotation order
    restrictions: list[Restriction] = field(default_factory=list)
    wall_clock: bool = True  # whole-day turns keep their local handoff time across DST


@dataclass(slots=True)
class ImportedSchedule:
    vendor_id: str
    name: str
    timezone: str
    layers: list[ImportedLayer]  # lowest first; a later layer covers an earlier one where it has someone
    team_ids: list[str] = field(default_factory=list)
    # The vendor's own rendered final schedule (people as vendor ids), when its API gave one.
    rendered: list[Shift] | None = None
    # Opsgenie notifies everyone on call in any rotation; the others let a higher layer cover a lower one.
    cumulative: bool = False


@dataclass(frozen=True, slots=True)
class ImportedOverride:
    vendor_id: str
    schedule_id: str
    person_id: str
    start: datetime
    end: datetime


TargetKind = Literal["schedule", "user", "team", "other"]


@dataclass(frozen=True, slots=True)
class ImportedTarget:
    kind: TargetKind
    vendor_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ImportedStep:
    at: timedelta  # after the alert began
    targets: list[ImportedTarget]
    note: str = ""  # how the vendor's rule differs, e.g. "only if not closed"


@dataclass(slots=True)
class ImportedPolicy:
    vendor_id: str
    name: str
    steps: list[ImportedStep]
    repeats: int = 0
    team_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportedIntegration:
    """Where alerts come in: a service's integration (PagerDuty), an integration (Grafana OnCall)."""

    vendor_id: str
    name: str
    kind: str  # the vendor's own type, shown in the plan
    policy_id: str | None
    watchstander_type: str | None  # "pagerduty", "alertmanager", "grafana", "generic"; None: no equivalent
    service: str = ""
    team_id: str | None = None  # the vendor team that owns it, when no policy is named


@dataclass(frozen=True, slots=True)
class ImportedRoute:
    """A routing rule: alerts whose labels match go to the team of ``policy_id`` (or ``schedule_id``)."""

    name: str
    match: dict[str, str]  # label → value, or ~regex
    policy_id: str | None
    schedule_id: str | None = None
    team_id: str | None = None  # whose rules these are


@dataclass(frozen=True, slots=True)
class ImportedTeam:
    vendor_id: str
    name: str


@dataclass(slots=True)
class Export:
    """Everything read from one vendor."""

    vendor: str  # "PagerDuty", "Opsgenie", "Grafana OnCall"
    people: list[ImportedPerson] = field(default_factory=list)
    teams: list[ImportedTeam] = field(default_factory=list)
    schedules: list[ImportedSchedule] = field(default_factory=list)
    overrides: list[ImportedOverride] = field(default_factory=list)
    policies: list[ImportedPolicy] = field(default_factory=list)
    integrations: list[ImportedIntegration] = field(default_factory=list)
    routes: list[ImportedRoute] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)

    def person(self, vendor_id: str) -> ImportedPerson | None:
        return next((p for p in self.people if p.vendor_id == vendor_id), None)

    def schedule(self, vendor_id: str) -> ImportedSchedule | None:
        return next((s for s in self.schedules if s.vendor_id == vendor_id), None)

    def team(self, vendor_id: str) -> ImportedTeam | None:
        return next((t for t in self.teams if t.vendor_id == vendor_id), None)
