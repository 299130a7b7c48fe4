"""The config's people: who they are, how to reach them, and their own paging rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import field_validator, model_validator

from bot.config.fields import E164, ClockTime, Duration, EmailAddress, Model, SlackUserId, TimeZoneName
from bot.severity import Severity


class NotifyRule(Model):
    """One line of a person's own rules: reach them by ``via`` this long after a step targets them."""

    after: Duration = timedelta(0)
    via: Literal["slack", "sms", "call", "email"]


class QuietHours(Model):
    """SMS (and calls) for alerts less severe than ``below`` wait until ``end``, in the person's zone."""

    start: ClockTime
    end: ClockTime
    below: Severity = Severity.CRITICAL

    def holds(self, severity: Severity) -> bool:
        return _RANK[severity] < _RANK[self.below]


_RANK = {s: i for i, s in enumerate([Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL])}


class Person(Model):
    slack_id: SlackUserId
    name: str
    phone: str | None = None
    email: EmailAddress | None = None
    timezone: TimeZoneName | None = None
    notify: list[NotifyRule] = []  # how person:<id> reaches them; without rules, a Slack DM
    quiet: QuietHours | None = None

    @model_validator(mode="after")
    def _rules(self) -> Person:
        afters = [r.after for r in self.notify]
        if afters != sorted(afters):
            raise ValueError("notify: rules must be in order of their 'after' offsets")
        for rule in self.notify:
            if rule.via in ("sms", "call") and not self.phone:
                raise ValueError(f"notify: via {rule.via} needs a phone for {self.name}")
            if rule.via == "email" and not self.email:
                raise ValueError(f"notify: via email needs an email for {self.name}")
        if self.quiet is not None and self.quiet.start == self.quiet.end:
            raise ValueError("quiet: start and end are the same time; give a window such as 22:00 to 07:00")
        return self

    @field_validator("phone")
    @classmethod
    def _e164(cls, v: str | None) -> str | None:
        if v is not None and not E164.match(v):
            raise ValueError("phone must be in E.164 form, e.g. \"+15550000001\" (quote it in YAML)")
        return v
