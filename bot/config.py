"""Settings from the environment and the validated YAML config file.

Errors name the line and the key and carry a fix hint, because the person reading them is an
operator at a terminal, not a Python developer.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.alerts.incoming import Severity
from bot.durations import DurationError, parse_duration

# --- field types -------------------------------------------------------------------------------


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("expected a duration such as 30s, 5m, 2h or 1d")
    if isinstance(value, int):
        raise ValueError(f"{value} has no unit; write e.g. {value}m or {value}s")
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
    return value


def _clock_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 09:00 as the sexagesimal number 540.
        return time(value // 60 % 24, value % 60)
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"expected a time of day such as \"09:00\", got {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


Duration = Annotated[timedelta, BeforeValidator(_duration)]
TimeZoneName = Annotated[str, AfterValidator(_zone)]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]
SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TARGET = re.compile(r"^(slack|sms):(primary|backup|channel|[UW][A-Z0-9]{2,})$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- sections ----------------------------------------------------------------------------------


class SlackConfig(_Model):
    alerts_channel: str = "alerts"
    incidents_channel: str = "incidents"
    summary_channel: str = "ops-weekly"
    incident_channel_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,20}$")] = "inc"
    admins: list[SlackUserId] = []


class Person(_Model):
    slack_id: SlackUserId
    name: str
    phone: str | None = None
    timezone: TimeZoneName | None = None

    @field_validator("phone")
    @classmethod
    def _e164(cls, v: str | None) -> str | None:
        if v is not None and not E164.match(v):
            raise ValueError("phone must be in E.164 form, e.g. \"+15550000001\" (quote it in YAML)")
        return v


class Handoff(_Model):
    weekday: int | None  # 0 = Monday; None for daily / N-hour rotations
    at: time


def _handoff(value: Any) -> Any:
    if isinstance(value, Handoff):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Handoff(weekday=None, at=_clock_time(value))
    parts = str(value).strip().lower().split()
    if len(parts) == 2 and parts[0][:3] in WEEKDAYS:
        return Handoff(weekday=WEEKDAYS.index(parts[0][:3]), at=_clock_time(parts[1]))
    if len(parts) == 1:
        return Handoff(weekday=None, at=_clock_time(parts[0]))
    raise ValueError(f"expected \"mon 09:00\" or \"09:00\", got {value!r}")


class RotationSchedule(_Model):
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


class IcalSchedule(_Model):
    ical: str
    timezone: TimeZoneName | None = None


class EscalationStep(_Model):
    after: Duration
    notify: Annotated[list[str], Field(min_length=1)]

    @field_validator("notify")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        for target in v:
            if not TARGET.match(target) or target == "sms:channel":
                raise ValueError(
                    f"unknown target {target!r}; use slack:primary, slack:backup, slack:<USERID>, "
                    "slack:channel, sms:primary, sms:backup or sms:<USERID>"
                )
        return v


DEFAULT_ESCALATION = [
    EscalationStep(after=timedelta(0), notify=["slack:primary"]),
    EscalationStep(after=timedelta(minutes=5), notify=["sms:primary"]),
    EscalationStep(after=timedelta(minutes=10), notify=["sms:backup", "slack:backup"]),
    EscalationStep(after=timedelta(minutes=20), notify=["slack:channel"]),
]


class Team(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    channel: str
    schedule: RotationSchedule | IcalSchedule | None = None
    calendar_token: str | None = None
    escalation: list[EscalationStep] = DEFAULT_ESCALATION
    repeat: Annotated[int, Field(ge=0, le=10)] = 0

    @field_validator("escalation")
    @classmethod
    def _ordered(cls, v: list[EscalationStep]) -> list[EscalationStep]:
        afters = [s.after for s in v]
        if afters != sorted(afters):
            raise ValueError("escalation steps must be in order of their 'after' offsets")
        return v


class Route(_Model):
    match: Annotated[dict[str, str], Field(min_length=1)]
    team: str

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


class Integration(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    type: Literal["alertmanager", "grafana", "sentry", "pagerduty", "generic"]
    token: Annotated[str, Field(min_length=8)]
    team: str | None = None
    secret: str | None = None


class SeverityPolicy(_Model):
    escalate: bool = False
    ack_within: Duration | None = None


class IncidentSeverity(_Model):
    description: str
    update_every: Duration = timedelta(hours=1)


class OutOfHours(_Model):
    start: ClockTime = time(19, 0)
    end: ClockTime = time(8, 0)
    weekends: bool = True


class SummaryConfig(_Model):
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: ClockTime = time(9, 0)
    timezone: TimeZoneName | None = None
    out_of_hours: OutOfHours = OutOfHours()


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


class Config(_Model):
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

    @field_validator("severities")
    @classmethod
    def _all_severities(cls, v: dict[Severity, SeverityPolicy]) -> dict[Severity, SeverityPolicy]:
        return {**DEFAULT_SEVERITIES, **v}

    @model_validator(mode="after")
    def _references(self) -> Config:
        people = {p.slack_id for p in self.people}
        team_names = [t.name for t in self.teams]
        problems: list[str] = []
        for dup in {n for n in team_names if team_names.count(n) > 1}:
            problems.append(f"teams: the name {dup!r} is used twice")
        names = [i.name for i in self.integrations]
        for dup in {n for n in names if names.count(n) > 1}:
            problems.append(f"integrations: the name {dup!r} is used twice")
        tokens = [i.token for i in self.integrations]
        if len(set(tokens)) != len(tokens):
            problems.append("integrations: two integrations share a token; give each its own")
        for i, team in enumerate(self.teams):
            if isinstance(team.schedule, RotationSchedule):
                for key in ("primary", "backup"):
                    for uid in getattr(team.schedule, key):
                        if uid not in people:
                            problems.append(
                                f"teams.{i}.schedule.{key}: {uid} is not listed under people"
                            )
            for j, step in enumerate(team.escalation):
                for target in step.notify:
                    who = target.split(":", 1)[1]
                    if who not in ("primary", "backup", "channel") and who not in people:
                        problems.append(f"teams.{i}.escalation.{j}.notify: {who} is not listed under people")
        for i, route in enumerate(self.routes):
            if route.team not in team_names:
                problems.append(f"routes.{i}.team: no team named {route.team!r}")
        for i, integ in enumerate(self.integrations):
            if integ.team is not None and integ.team not in team_names:
                problems.append(f"integrations.{i}.team: no team named {integ.team!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # -- lookups used across the domain --
    def team(self, name: str) -> Team | None:
        return next((t for t in self.teams if t.name == name), None)

    def person(self, slack_id: str) -> Person | None:
        return next((p for p in self.people if p.slack_id == slack_id), None)

    def integration_by_token(self, token: str) -> Integration | None:
        found = None
        given = token.encode("utf-8", "surrogatepass")  # header bytes that were not UTF-8 arrive as surrogates
        for integ in self.integrations:
            if hmac.compare_digest(integ.token.encode(), given):
                found = integ
        return found

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# --- loading with line numbers -----------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    line: int | None
    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        hint = f"\n    hint: {self.hint}" if self.hint else ""
        return f"{where}{self.key}: {self.message}{hint}"


class ConfigError(Exception):
    def __init__(self, path: str, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(str(p) for p in problems))

    def report(self) -> str:
        lines = [f"{self.path}: {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_references(text: str) -> set[str]:
    """Names of the environment variables a config text references as ``${NAME}``."""
    return set(_ENV_REF.findall(text))


def _lines(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]) -> None:
    """Record the line of every key path, so validation errors can point at it."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            out[(*path, k)] = key.start_mark.line + 1
            _lines(value, (*path, k), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


def _substitute(value: Any, env: Mapping[str, str], path: tuple[str | int, ...],
                missing: list[tuple[tuple[str | int, ...], str]]) -> Any:
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                missing.append((path, name))
                return ""
            return env[name]
        return _ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v, env, (*path, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, (*path, i), missing) for i, v in enumerate(value)]
    return value


_HINTS = {
    "extra_forbidden": "remove it, or check its spelling against the config reference in README.md",
    "missing": "add this key",
    "string_pattern_mismatch": "check the format",
}


def _line_for(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def parse_config(text: str, *, path: str = "<config>", env: Mapping[str, str] | None = None) -> Config:
    """Parse and validate config text; raise ConfigError listing every problem with its line."""
    env = os.environ if env is None else env
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(path, [ConfigProblem(line, "(yaml)", exc.problem or str(exc),
                                               "fix the YAML syntax (indentation, quotes, colons)")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, [ConfigProblem(1, "(top level)", "the config must be a mapping of keys")])
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    missing: list[tuple[tuple[str | int, ...], str]] = []
    data = _substitute(data, env, (), missing)
    problems = [
        ConfigProblem(_line_for(p, lines), ".".join(map(str, p)), f"environment variable {name} is not set",
                      f"export {name}=… before starting, or remove the reference")
        for p, name in missing
    ]
    missing_paths = {p for p, _ in missing}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x[0].isupper() and "[" in x))
            # Unions report the member type in loc (e.g. 'RotationSchedule'); drop those names.
            loc = tuple(x for x in loc if not (isinstance(x, str) and x in ("RotationSchedule", "IcalSchedule")))
            msg = err["msg"].removeprefix("Value error, ")
            if not loc and "\n" in msg:
                for part in msg.split("\n"):
                    key, _, text_ = part.partition(": ")
                    keyloc = tuple(int(x) if x.isdigit() else x for x in key.split("."))
                    problems.append(ConfigProblem(_line_for(keyloc, lines), key, text_))
                continue
            if not loc and ": " in msg and msg.split(": ", 1)[0].split(".")[0] in Config.model_fields:
                key, _, text_ = msg.partition(": ")
                keyloc = tuple(int(x) if x.isdigit() else x for x in key.split("."))
                problems.append(ConfigProblem(_line_for(keyloc, lines), key, text_))
                continue
            if loc in missing_paths:
                continue  # already reported as the unset environment variable
            problems.append(ConfigProblem(_line_for(loc, lines), ".".join(map(str, loc)) or "(top level)",
                                          msg, _HINTS.get(err["type"], "")))
        raise ConfigError(path, _dedupe(problems)) from None
    if problems:
        raise ConfigError(path, problems)
    return config


def _dedupe(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    seen: set[tuple[int | None, str, str]] = set()
    out = []
    for p in problems:
        if (p.line, p.key, p.message) not in seen:
            seen.add((p.line, p.key, p.message))
            out.append(p)
    return out


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), [ConfigProblem(None, "(file)", "file not found",
                                                 "create it (the README's Configuration section has an example) or set WATCHSTANDER_CONFIG")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(p), [ConfigProblem(None, "(file)", f"cannot read: {exc}")]) from None
    return parse_config(text, path=str(p), env=env)


# --- environment -------------------------------------------------------------------------------


class Settings(_Model):
    """Built from the environment by :func:`settings_from_env`."""

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite+aiosqlite:///./watchstander.db"
    config_path: str = "./watchstander.yaml"
    port: Annotated[int, Field(ge=0, le=65535)] = 3000
    public_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    metrics_token: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_library_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["json", "console"] | None = None

    @property
    def base_public_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    def require_serve(self) -> list[str]:
        """What is missing for `watchstander serve`, as messages an operator can act on."""
        missing = []
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        if not self.socket_mode and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET is not set (needed in HTTP mode; or set SLACK_APP_TOKEN)")
        return missing


_ENV_NAMES = {
    "slack_bot_token": "SLACK_BOT_TOKEN", "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN", "slack_api_url": "SLACK_API_URL",
    "database_url": "DATABASE_URL", "config_path": "WATCHSTANDER_CONFIG", "port": "PORT",
    "public_url": "PUBLIC_URL", "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN", "twilio_from_number": "TWILIO_FROM_NUMBER",
    "twilio_api_url": "TWILIO_API_URL", "metrics_token": "METRICS_TOKEN",
    "log_level": "LOG_LEVEL", "log_format": "LOG_FORMAT", "log_library_level": "LOG_LIBRARY_LEVEL",
}


class SettingsError(Exception):
    pass


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, Any] = {k: env[v] for k, v in _ENV_NAMES.items() if env.get(v)}
    for level in ("log_level", "log_library_level"):
        if level in values:
            values[level] = values[level].upper()
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        msgs = [f"{_ENV_NAMES.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()]
        raise SettingsError("; ".join(msgs)) from None
