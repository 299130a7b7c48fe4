"""Config sections for what Watchstander watches itself: HTTP and TLS checks, heartbeats from cron
jobs, Alertmanager's Watchdog, the bot's own dead man's switch, and the public status page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from bot.config.fields import Duration, Model
from bot.severity import Severity

NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
"""A check's or heartbeat's name: it is part of a URL (``/heartbeat/<name>``) and of alert keys."""

def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def at_least_a_minute(why: str) -> Callable[[timedelta], timedelta]:
    def check(value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError(f"every must be at least 1m{why}")
        return value

    return check

OWN_INTEGRATION = "watchstander"
"""The integration name alerts raised by Watchstander itself are stored under (checks, heartbeats,
the Watchdog); the config may not give it to a webhook integration."""


class BodyJson(Model):
    """The probe's body is JSON and the value at ``path`` (dots between keys) equals ``equals``."""

    path: Annotated[str, Field(min_length=1)]
    equals: str | int | float | bool | None


class Expect(Model):
    status: Annotated[int, Field(ge=100, le=599)] | list[Annotated[int, Field(ge=100, le=599)]] = 200
    body_contains: Annotated[str, Field(min_length=1)] | None = None
    body_json: BodyJson | None = None

    def statuses(self) -> list[int]:
        return self.status if isinstance(self.status, list) else [self.status]


class Check(Model):
    """An uptime probe: an HTTP request (``url``) or a TLS handshake (``tls: host:port``)."""

    name: Annotated[str, Field(pattern=NAME)]
    url: HttpUrl | None = None
    tls: str | None = None
    method: Literal["GET", "HEAD", "POST"] = "GET"
    body: str | None = None
    headers: dict[str, str] = {}
    every: Duration = timedelta(minutes=1)
    timeout: Duration = timedelta(seconds=10)
    expect: Expect = Expect()
    slow_after: Duration | None = None
    down_after: Duration = timedelta(minutes=2)
    expires_within: Duration = timedelta(days=30)
    ca_file: str | None = None  # PEM bundle to trust instead of the system's (an internal CA)
    team: str | None = None
    severity: Severity = Severity.CRITICAL
    target: Annotated[float, Field(gt=0, le=100)] = 99.9  # uptime objective, percent

    @field_validator("tls")
    @classmethod
    def _host_port(cls, v: str | None) -> str | None:
        if v is None:
            return v
        m = re.fullmatch(r"([A-Za-z0-9.-]+)(?::(\d{1,5}))?", v)
        if not m or (m.group(2) and not 0 < int(m.group(2)) < 65536):
            raise ValueError(f"tls: expected host:port such as shop.example.com:443, got {v!r}")
        try:
            m.group(1).encode("idna")  # what the resolver will do: empty or over-long labels fail here
        except UnicodeError:
            raise ValueError(f"tls: {m.group(1)!r} is not a valid host name") from None
        return v if m.group(2) else f"{v}:443"

    @model_validator(mode="after")
    def _one_kind(self) -> Check:
        if (self.url is None) == (self.tls is None):
            raise ValueError(f"check {self.name!r}: give either url: (an HTTP check) or tls: host:port")
        if self.every < timedelta(seconds=10):
            raise ValueError(f"check {self.name!r}: every must be at least 10s")
        if self.timeout > self.every:
            raise ValueError(f"check {self.name!r}: timeout ({self.timeout}) is longer than every ({self.every})")
        if self.down_after <= timedelta(0):
            raise ValueError(f"check {self.name!r}: down_after must be more than 0s (one failed probe never alerts)")
        if self.timeout <= timedelta(0):
            raise ValueError(f"check {self.name!r}: timeout must be more than 0s")
        if self.method == "HEAD" and (self.expect.body_contains or self.expect.body_json):
            raise ValueError(f"check {self.name!r}: a HEAD response has no body to match; use GET")
        if self.body is not None and self.method != "POST":
            raise ValueError(f"check {self.name!r}: body: is sent only with method: POST")
        return self

    @property
    def kind(self) -> Literal["http", "tls"]:
        return "http" if self.url else "tls"

    @property
    def address(self) -> str:
        return self.url or f"tls://{self.tls}"


class HeartbeatMonitor(Model):
    """A job that must report in (``/heartbeat/<name>``) every ``every``, give or take ``grace``."""

    name: Annotated[str, Field(pattern=NAME)]
    every: Annotated[Duration, AfterValidator(at_least_a_minute(""))]
    grace: Duration = timedelta(minutes=5)
    token: Annotated[str, Field(min_length=8)]
    team: str | None = None
    severity: Severity = Severity.CRITICAL



class Watchdog(Model):
    """Alertmanager's always-firing alert must keep arriving through ``integration``."""

    integration: str
    alertname: str = "Watchdog"
    every: Annotated[Duration, AfterValidator(at_least_a_minute(
        " (longer than Alertmanager's repeat_interval for it)"))] = timedelta(minutes=5)
    team: str | None = None



class SelfHeartbeat(Model):
    """A dead man's switch outside: requested every ``every`` while the bot is healthy."""

    url: HttpUrl
    every: Duration = timedelta(minutes=1)
    timeout: Duration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _sane(self) -> SelfHeartbeat:
        if self.every < timedelta(seconds=10):
            raise ValueError("every must be at least 10s")
        if self.timeout >= self.every:
            raise ValueError("timeout must be shorter than every")
        return self


class StatusPage(Model):
    title: str = "Status"
    checks: list[str] = []
    public: bool = True
    token: Annotated[str, Field(min_length=8)] | None = None  # for public: false; ?token=
    description: str | None = None

    @model_validator(mode="after")
    def _private_needs_token(self) -> StatusPage:
        if not self.public and not self.token:
            raise ValueError("public: false needs token: (readers open /status?token=…)")
        return self


def monitor_problems(*, checks: list[Check], heartbeats: list[HeartbeatMonitor], watchdog: Watchdog | None,
                     status_page: StatusPage | None, teams: set[str], integrations: dict[str, str]) -> list[str]:
    """What refers to something that is not there, or is named twice. ``integrations``: name → type."""
    problems: list[str] = []
    for section, names in (("checks", [c.name for c in checks]), ("heartbeats", [h.name for h in heartbeats])):
        problems += [f"{section}: the name {dup!r} is used twice" for dup in sorted({n for n in names
                                                                                      if names.count(n) > 1})]
    team_refs = [("checks", i, c.team) for i, c in enumerate(checks)]
    team_refs += [("heartbeats", i, h.team) for i, h in enumerate(heartbeats)]
    problems += [f"{section}.{i}.team: no team named {team!r}"
                 for section, i, team in team_refs if team is not None and team not in teams]
    if watchdog is not None:
        kind = integrations.get(watchdog.integration)
        if kind is None:
            problems.append(f"watchdog.integration: no integration named {watchdog.integration!r}")
        elif kind not in ("alertmanager", "pagerduty"):
            problems.append(f"watchdog.integration: {watchdog.integration!r} is a {kind} integration; "
                            "the Watchdog arrives from Alertmanager (type alertmanager or pagerduty)")
        if watchdog.team is not None and watchdog.team not in teams:
            problems.append(f"watchdog.team: no team named {watchdog.team!r}")
    if status_page is not None:
        known = {c.name for c in checks}
        problems += [f"status_page.checks.{i}: no check named {name!r}"
                     for i, name in enumerate(status_page.checks) if name not in known]
    if OWN_INTEGRATION in integrations:
        problems.append(f"integrations: the name {OWN_INTEGRATION!r} is Watchstander's own "
                        "(its checks and heartbeats); pick another")
    return problems
