"""An escalation policy as data: ordered steps with offsets, run ``repeat + 1`` times.

The policy is snapshotted onto the alert when escalation starts (as JSON, see :meth:`Policy.to_json`),
because the config can change mid-escalation and a page must not jump steps when it does. Every
deadline is computed from the snapshot and the run's start, never from when the previous step
happened to run, so a late step (after a restart) does not push the later ones back.

A test alert (``POST /api/test``) runs a *compressed* copy of its team's policy
(:meth:`Policy.compressed_for_test`): every offset is zero, so the steps run one after the other at
once instead of 5 and 10 minutes apart. The copy is marked ``test`` in the snapshot, so the
escalation row itself says why its deadlines are all "now"; real alerts never get one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

from bot.config import Team

# When the last two steps share an offset (or there is only one step), a repeat waits this long.
DEFAULT_REPEAT_GAP = timedelta(minutes=5)
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


class StepJson(TypedDict):
    after: int  # seconds from the run's start
    notify: list[str]


class PolicyJson(TypedDict):
    """A policy as snapshotted onto its escalation (the ``escalations.policy`` column)."""

    steps: list[StepJson]
    repeat: NotRequired[int]
    test: NotRequired[bool]  # a test alert's compressed copy (Policy.compressed_for_test)


@dataclass(frozen=True)
class EscalationStep:
    after: timedelta
    notify: tuple[str, ...]


@dataclass(frozen=True)
class Position:
    """Where a run stands: ``round`` and ``step`` are 0-based here, 1-based wherever people read them."""

    round: int
    step: int


@dataclass(frozen=True)
class Policy:
    steps: tuple[EscalationStep, ...]
    repeat: int = 0
    test: bool = False  # a test alert's compressed copy: every step at once, see compressed_for_test

    @classmethod
    def for_team(cls, team: Team) -> Policy:
        return cls(steps=tuple(EscalationStep(s.after, tuple(s.notify)) for s in team.escalation),
                   repeat=team.repeat)

    @classmethod
    def from_json(cls, data: PolicyJson) -> Policy:
        return cls(steps=tuple(EscalationStep(timedelta(seconds=s["after"]), tuple(s["notify"]))
                               for s in data["steps"]),
                   repeat=int(data.get("repeat", 0)), test=bool(data.get("test", False)))

    def to_json(self) -> PolicyJson:
        data: PolicyJson = {"steps": [{"after": int(s.after.total_seconds()), "notify": list(s.notify)}
                                      for s in self.steps], "repeat": self.repeat}
        if self.test:
            data["test"] = True
        return data

    def first_step(self, medium: str) -> int | None:
        """The 0-based index of the first step that pages someone by ``medium`` (``slack`` means a DM,
        not the ``@here`` post in the channel; ``sms``), or None when no step does."""
        return next((i for i, step in enumerate(self.steps)
                     if any(t.startswith(f"{medium}:") and t != "slack:channel" for t in step.notify)), None)

    def compressed_for_test(self) -> Policy:
        """The policy a test alert runs: this one's steps up to the first that sends an SMS (or the
        first Slack DM when no step sends one), every offset zero and no repeat.

        Zero offsets make every step due the moment the alert is stored, so the escalation runner
        runs them back to back: a test shows within seconds that the DM and the SMS go out, where
        the real policy would wait 5 minutes for the SMS step. The steps after it (the backup, the
        channel's ``@here``) are left out: a test pages the person testing, not the whole team.
        """
        ends = [i for i in (self.first_step("slack"), self.first_step("sms")) if i is not None]
        last = max(ends) if ends else 0
        steps = tuple(EscalationStep(timedelta(0), s.notify) for s in self.steps[:last + 1])
        return Policy(steps=steps, repeat=0, test=True)

    @property
    def round_length(self) -> timedelta:
        """How long one run of the policy takes before a repeat starts over.

        The offsets say when each step starts but not how long the last one is given; we give it
        the same time the step before it had (0m, 5m, 10m, 20m → the repeat starts at 30m).
        """
        last = self.steps[-1].after
        gap = last - self.steps[-2].after if len(self.steps) > 1 else timedelta(0)
        return last + (gap if gap > timedelta(0) else DEFAULT_REPEAT_GAP)

    def deadline(self, started_at: datetime, at: Position) -> datetime:
        return started_at + at.round * self.round_length + self.steps[at.step].after

    def following(self, at: Position) -> Position | None:
        """The position after ``at``, or None when the last step of the last round has run."""
        if at.step + 1 < len(self.steps):
            return Position(at.round, at.step + 1)
        if at.round < self.repeat:
            return Position(at.round + 1, 0)
        return None

    def describe(self, step: int) -> str:
        """The step's targets in words, for the Escalate dialog: "SMS to the primary, Slack DM to the backup"."""
        return ", ".join(describe_target(t) for t in self.steps[step].notify)


def describe_target(target: str) -> str:
    medium, _, who = target.partition(":")
    if who == "channel":
        return "@here in the team channel"
    if medium == "slack" and who.startswith("@"):
        return f"Slack DM to each of {who} and a mention in the thread"
    how = {"sms": "SMS to", "email": "email to", "call": "phone call to"}.get(medium, "Slack DM to")
    if "@" in who:
        return f"{how} {who}"
    return f"{how} <@{who}>" if _USER.match(who) else f"{how} the {who}"
