"""The YAML config file's schema: every section, its defaults, and the checks across sections."""

from __future__ import annotations

import hmac
import re
from datetime import date, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, EmailStr, Field, field_validator, model_validator

from bot.config.fields import (
    EMAIL_TARGET,
    GROUP_TARGET,
    HANDLE,
    TARGET,
    WEEKDAYS,
    ClockTime,
    Duration,
    EmailAddress,
    Model,
    SlackHandle,
    SlackUserId,
    TimeZoneName,
    clock_time,
    email_address,
)
from bot.config.monitors import (
    OWN_INTEGRATION,
    Check,
    HeartbeatMonitor,
    SelfHeartbeat,
    StatusPage,
    Watchdog,
    monitor_problems,
)
from bot.config.people import Person
from bot.durations import DurationError, parse_duration
from bot.severity import Severity

# --- sections ----------------------------------------------------------------------------------


class SlackConfig(Model):
    alerts_channel: str = "alerts"
    incidents_channel: str = "incidents"
    summary_channel: str = "ops-weekly"
    incident_channel_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,20}$")] = "inc"
    admins: list[SlackUserId] = []


class Handoff(Model):
    weekday: int | None  # 0 = Monday; None for daily / N-hour rotations
    at: time


def _handoff(value: object) -> object:
    if isinstance(value, Handoff):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Handoff(weekday=None, at=clock_time(value))
    parts = str(value).strip().lower().split()
    if len(parts) == 2 and parts[0][:3] in WEEKDAYS:
        return Handoff(weekday=WEEKDAYS.index(parts[0][:3]), at=clock_time(parts[1]))
    if len(parts) == 1:
        return Handoff(weekday=None, at=clock_time(parts[0]))
    raise ValueError(f"expected \"mon 09:00\" or \"09:00\", got {value!r}")


class RotationSchedule(Model):
    rotation: str = "weekly"
    handoff: Annotated[Handoff, BeforeValidator(_handoff)] = Handoff(weekday=0, at=time(9, 0))
    timezone: TimeZoneName | None = None
    start: date
    primary: Annotated[list[SlackUserId], Field(min_length=1)]
    backup: list[SlackUserId] = []

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, v: str) -> str:
        if v in ("weekly", "daily"):
            return v
        try:
            step = parse_duration(v)
        except DurationError:
            raise ValueError("rotation must be weekly, daily, or a duration such as 12h") from None
        if step < timedelta(hours=1):
            raise ValueError("a rotation shorter than 1h is not a rotation; use e.g. 12h")
        return v

    @property
    def shift_length(self) -> timedelta:
        if self.rotation == "weekly":
            return timedelta(weeks=1)
        if self.rotation == "daily":
            return timedelta(days=1)
        return parse_duration(self.rotation)


class IcalSchedule(Model):
    ical: str
    timezone: TimeZoneName | None = None


class EscalationStep(Model):
    after: Duration
    notify: Annotated[list[str], Field(min_length=1)]

    @field_validator("notify")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        checked = []
        for target in v:
            if (found := EMAIL_TARGET.match(target)) is not None:
                checked.append(f"email:{email_address(found['address'])}")
                continue
            if (group := GROUP_TARGET.match(target)) is not None:
                if not HANDLE.match(group["handle"]):
                    raise ValueError(f"{target!r}: {group['handle']!r} is not a Slack user group handle (lower-case "
                                     "letters, digits, - and _, at most 21 characters), e.g. slack:@platform-oncall")
                checked.append(target)
                continue
            if not TARGET.match(target) or target in ("sms:channel", "email:channel", "person:channel", "call:channel"):
                raise ValueError(
                    f"unknown target {target!r}; use slack:primary, slack:backup, slack:<USERID>, "
                    "slack:channel, slack:@<usergroup-handle>, sms:primary, sms:backup, sms:<USERID>, call:primary, "
                    "call:backup, call:<USERID>, "
                    "email:primary, email:backup, email:<USERID>, email:<address>, person:primary, person:backup "
                    "or person:<USERID>"
                )
            checked.append(target)
        return checked


DEFAULT_ESCALATION = [
    EscalationStep(after=timedelta(0), notify=["slack:primary"]),
    EscalationStep(after=timedelta(minutes=5), notify=["sms:primary"]),
    EscalationStep(after=timedelta(minutes=10), notify=["sms:backup", "slack:backup"]),
    EscalationStep(after=timedelta(minutes=20), notify=["slack:channel"]),
]


class Team(Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    channel: str
    schedule: RotationSchedule | IcalSchedule | None = None
    calendar_token: str | None = None
    escalation: list[EscalationStep] = DEFAULT_ESCALATION
    repeat: Annotated[int, Field(ge=0, le=10)] = 0
    # A Slack user group the bot keeps equal to the team's primary (and its backup with slack_handle_backup).
    slack_handle: SlackHandle | None = None
    slack_handle_backup: bool = False

    @field_validator("escalation")
    @classmethod
    def _ordered(cls, v: list[EscalationStep]) -> list[EscalationStep]:
        afters = [s.after for s in v]
        if afters != sorted(afters):
            raise ValueError("escalation steps must be in order of their 'after' offsets")
        return v


class Route(Model):
    match: Annotated[dict[str, str], Field(min_length=1)]
    team: str
    email: list[EmailAddress] = []  # a copy of each new alert by email to these, paging nobody

    @field_validator("match")
    @classmethod
    def _regexes(cls, v: dict[str, str]) -> dict[str, str]:
        for key, pattern in v.items():
            if pattern.startswith("~"):
                try:
                    re.compile(pattern[1:])
                except re.error as exc:
                    raise ValueError(f"{key}: bad regular expression {pattern[1:]!r}: {exc}") from None
        return v


class Integration(Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    type: Literal["alertmanager", "grafana", "sentry", "pagerduty", "generic"]
    token: Annotated[str, Field(min_length=8)]
    team: str | None = None
    secret: str | None = None


def own_integration(team: str | None) -> Integration:
    """The integration Watchstander's own alerts are stored under (checks, heartbeats, the Watchdog,
    test alerts); ``team`` routes them when no route does. Its token is never compared: webhooks
    find their integration in the config, and this one is not there."""
    return Integration(name=OWN_INTEGRATION, type="generic", token="not-a-webhook-token", team=team)


class SeverityPolicy(Model):
    escalate: bool = False
    ack_within: Duration | None = None
    # An alert acknowledged and not resolved within this fires again, its policy from step 1.
    ack_timeout: Duration | None = None
    email: list[EmailAddress] = []  # a copy of each new alert of this severity by email, paging nobody

    @field_validator("ack_timeout")
    @classmethod
    def _long_enough(cls, v: timedelta | None) -> timedelta | None:
        if v is not None and v < timedelta(minutes=1):
            raise ValueError("ack_timeout must be at least 1m: it is how long an acknowledgement holds before "
                             "the alert fires again (e.g. 30m)")
        return v


class IncidentSeverity(Model):
    description: str
    update_every: Duration = timedelta(hours=1)


class OutOfHours(Model):
    start: ClockTime = time(19, 0)
    end: ClockTime = time(8, 0)
    weekends: bool = True


class SummaryConfig(Model):
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: ClockTime = time(9, 0)
    timezone: TimeZoneName | None = None
    out_of_hours: OutOfHours = OutOfHours()
    email: list[EmailAddress] = []  # the summary by email too, chart inline


class DailySummary(Model):
    """The daily digest (``bot.notify.daily_summary``): yesterday's alerts, what is open, today's on-call,
    checks down or expiring; posted to ``channel`` and/or mailed to ``email`` at ``time`` in ``timezone``."""

    time: ClockTime = time(8, 30)
    timezone: TimeZoneName | None = None  # default: the config's timezone
    channel: Annotated[str, Field(min_length=1)] | None = None
    email: list[EmailStr] = []

    @model_validator(mode="after")
    def _somewhere(self) -> DailySummary:
        if self.channel is None and not self.email:
            raise ValueError("say where the digest goes: channel: (a Slack channel), email: (a list of "
                             "addresses), or both")
        return self


class Retention(Model):
    """How long records are kept once they are over (see ``bot.retention``)."""

    alerts: Duration = timedelta(days=400)  # resolved alerts and their history: a year-on-year summary needs a year
    incidents: Duration = timedelta(days=400)
    seen_requests: Duration = timedelta(days=7)
    outbox: Duration = timedelta(days=7)  # sent queued messages; failed ones stay as long as their alert

    @field_validator("alerts", "incidents", "seen_requests", "outbox")
    @classmethod
    def _at_least_a_day(cls, v: timedelta) -> timedelta:
        if v < timedelta(days=1):
            raise ValueError("keep records at least 1d: Slack and Twilio retry requests for hours")
        return v


DEFAULT_SEVERITIES: dict[Severity, SeverityPolicy] = {
    Severity.CRITICAL: SeverityPolicy(escalate=True, ack_within=timedelta(minutes=5)),
    Severity.HIGH: SeverityPolicy(escalate=True, ack_within=timedelta(minutes=15)),
    Severity.MEDIUM: SeverityPolicy(),
    Severity.LOW: SeverityPolicy(),
    Severity.INFO: SeverityPolicy(),
}
DEFAULT_INCIDENT_SEVERITIES = {
    "SEV1": IncidentSeverity(description="Platform down, payments failing, data loss",
                             update_every=timedelta(minutes=30)),
    "SEV2": IncidentSeverity(description="Major feature broken or severe degradation",
                             update_every=timedelta(hours=1)),
    "SEV3": IncidentSeverity(description="Minor feature issue", update_every=timedelta(hours=4)),
}


class Config(Model):
    timezone: TimeZoneName = "UTC"
    slack: SlackConfig = SlackConfig()
    people: list[Person] = []
    teams: list[Team] = []
    routes: list[Route] = []
    integrations: list[Integration] = []
    severities: dict[Severity, SeverityPolicy] = DEFAULT_SEVERITIES
    incident_severities: dict[Annotated[str, Field(pattern=r"^SEV[1-5]$")], IncidentSeverity] = (
        DEFAULT_INCIDENT_SEVERITIES
    )
    summary: SummaryConfig = SummaryConfig()
    daily_summary: DailySummary | None = None  # no section, no digest
    retention: Retention = Retention()
    checks: list[Check] = []
    heartbeats: list[HeartbeatMonitor] = []
    watchdog: Watchdog | None = None
    self_heartbeat: SelfHeartbeat | None = None
    status_page: StatusPage | None = None

    @field_validator("severities")
    @classmethod
    def _all_severities(cls, v: dict[Severity, SeverityPolicy]) -> dict[Severity, SeverityPolicy]:
        return {**DEFAULT_SEVERITIES, **v}

    @model_validator(mode="after")
    def _references(self) -> Config:
        problems = [*self._duplicates(), *self._unknown_people(), *self._unknown_teams(),
                    *monitor_problems(checks=self.checks, heartbeats=self.heartbeats, watchdog=self.watchdog,
                                      status_page=self.status_page, teams={t.name for t in self.teams},
                                      integrations={i.name: i.type for i in self.integrations})]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _duplicates(self) -> list[str]:
        problems: list[str] = []
        team_names = [t.name for t in self.teams]
        for dup in {n for n in team_names if team_names.count(n) > 1}:
            problems.append(f"teams: the name {dup!r} is used twice")
        names = [i.name for i in self.integrations]
        for dup in {n for n in names if names.count(n) > 1}:
            problems.append(f"integrations: the name {dup!r} is used twice")
        handles = [t.slack_handle for t in self.teams if t.slack_handle]
        for dup in {h for h in handles if handles.count(h) > 1}:
            problems.append(f"teams: the slack_handle {dup!r} is used by two teams; one user group follows one team")
        problems += [f"teams.{i}.slack_handle_backup: true but the team has no slack_handle"
                     for i, t in enumerate(self.teams) if t.slack_handle_backup and not t.slack_handle]
        tokens = [i.token for i in self.integrations]
        if len(set(tokens)) != len(tokens):
            problems.append("integrations: two integrations share a token; give each its own")
        return problems

    def _unknown_people(self) -> list[str]:
        people = {p.slack_id: p for p in self.people}
        problems: list[str] = []
        for i, team in enumerate(self.teams):
            if isinstance(team.schedule, RotationSchedule):
                for key in ("primary", "backup"):
                    problems += [f"teams.{i}.schedule.{key}: {uid} is not listed under people"
                                 for uid in getattr(team.schedule, key) if uid not in people]
            for j, step in enumerate(team.escalation):
                for target in step.notify:
                    medium, who = target.split(":", 1)
                    if who in ("primary", "backup", "channel") or "@" in who:
                        continue
                    if who not in people:
                        problems.append(f"teams.{i}.escalation.{j}.notify: {who} is not listed under people")
                    elif medium == "email" and not people[who].email:
                        problems.append(f"teams.{i}.escalation.{j}.notify: {target} but {people[who].name} "
                                        "has no email under people")
                    elif medium == "call" and not people[who].phone:
                        problems.append(f"teams.{i}.escalation.{j}.notify: {target} but {people[who].name} "
                                        "has no phone under people")
        return problems

    def _unknown_teams(self) -> list[str]:
        team_names = {t.name for t in self.teams}
        problems = [f"routes.{i}.team: no team named {route.team!r}"
                    for i, route in enumerate(self.routes) if route.team not in team_names]
        problems += [f"integrations.{i}.team: no team named {integ.team!r}"
                     for i, integ in enumerate(self.integrations)
                     if integ.team is not None and integ.team not in team_names]
        return problems

    # -- lookups used across the domain --
    def team(self, name: str) -> Team | None:
        return next((t for t in self.teams if t.name == name), None)

    def person(self, slack_id: str) -> Person | None:
        return next((p for p in self.people if p.slack_id == slack_id), None)

    def team_of_handle(self, handle: str) -> Team | None:
        """The team whose ``slack_handle`` this is (its members are that team's on-call)."""
        return next((t for t in self.teams if t.slack_handle == handle), None)

    def integration_by_token(self, token: str) -> Integration | None:
        found = None
        given = token.encode("utf-8", "surrogatepass")  # header bytes that were not UTF-8 arrive as surrogates
        for integ in self.integrations:
            if hmac.compare_digest(integ.token.encode(), given):
                found = integ
        return found

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def heartbeat(self, name: str) -> HeartbeatMonitor | None:
        return next((h for h in self.heartbeats if h.name == name), None)

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
