"""Paging rules that are valid one by one but work against each other: ``check-config`` explains them.

Each finding names the config key it is about (its line is looked up by the caller), says what will
happen, and how to get what was probably meant. None of them stops the bot: they are warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import yaml

from bot.config.loading import key_lines, line_for
from bot.config.people import Person
from bot.config.schema import Config, Team
from bot.durations import format_config_duration
from bot.severity import Severity

Loc = tuple[str | int, ...]
_CHANNELS = ("slack", "sms", "call", "email")


@dataclass(frozen=True)
class Conflict:
    loc: Loc
    message: str


def _person_targets(team: Team) -> set[str]:
    """What follows ``person:`` in a team's steps: roles (primary, backup) and user ids."""
    return {t.removeprefix("person:") for step in team.escalation for t in step.notify if t.startswith("person:")}


def _members(team: Team) -> set[str]:
    schedule = team.schedule
    return set(getattr(schedule, "primary", [])) | set(getattr(schedule, "backup", []))


def _unused_rules(config: Config) -> list[Conflict]:
    found = []
    for i, p in enumerate(config.people):
        if not p.notify:
            continue
        used = any(p.slack_id in (refs := _person_targets(t)) or (refs & {"primary", "backup"} and (
            p.slack_id in _members(t) or not _members(t))) for t in config.teams)
        if not used:
            found.append(Conflict(("people", i, "notify"), (
                f"{p.name}'s notify: rules are never used: no escalation step of a team {p.name} is in targets "
                "person:primary, person:backup or person:" + p.slack_id + "; steps with slack:, sms:, call: or "
                "email: reach them on that channel only. Put person:primary in a step to use these rules.")))
    return found


def _doubled(config: Config) -> list[Conflict]:
    found = []
    for ti, team in enumerate(config.teams):
        for si, step in enumerate(team.escalation):
            persons = {t.removeprefix("person:") for t in step.notify if t.startswith("person:")}
            for target in step.notify:
                kind, _, who = target.partition(":")
                if kind in _CHANNELS and who in persons:
                    found.append(Conflict(("teams", ti, "escalation", si), (
                        f"step {si + 1} of team {team.name} has both person:{who} and {target}: whoever's own "
                        f"rules include {kind} is paged that way twice. Keep person:{who} (their rules) or "
                        f"{target} (that channel for everyone).")))
    return found


def _late_rules(config: Config) -> list[Conflict]:
    """A person's later channel that comes after the policy has already moved on to the next step."""
    found = []
    for team in config.teams:
        steps = team.escalation
        members = _members(team)
        for si, step in enumerate(steps[:-1]):
            roles = {t.removeprefix("person:") for t in step.notify if t.startswith("person:")}
            people = [(i, p) for i, p in enumerate(config.people) if p.notify and (
                p.slack_id in roles or (roles & {"primary", "backup"} and (not members or p.slack_id in members)))]
            gap = steps[si + 1].after - step.after
            for i, p in people:
                late = [r for r in p.notify if r.after > gap > timedelta(0)]
                if late:
                    r = late[0]
                    found.append(Conflict(("people", i, "notify"), (
                        f"{p.name}'s {r.via} (after {format_config_duration(r.after)}) comes only when team "
                        f"{team.name}'s step {si + 2} has already run ({format_config_duration(gap)} after step "
                        f"{si + 1}): the next people are paged before {p.name}'s {r.via}, unless someone "
                        "acknowledges. Shorten the rule or move the next step later.")))
    return found


def _quiet(person: Person, i: int) -> list[Conflict]:
    q = person.quiet
    if q is None:
        return []
    if q.below == Severity.INFO:
        return [Conflict(("people", i, "quiet"), (
            f"{person.name}'s quiet hours hold nothing: below: info, and no severity is below info. Say "
            "below: critical (the default) to hold all but critical alerts."))]
    if not any(r.via in ("sms", "call") for r in person.notify):
        return [Conflict(("people", i, "quiet"), (
            f"{person.name}'s quiet hours hold only the SMS and calls of their own notify: rules, and they have "
            "none; sms: and call: steps that name them are never held."))]
    return []


def paging_conflicts(config: Config) -> list[Conflict]:
    quiet = [c for i, p in enumerate(config.people) for c in _quiet(p, i)]
    return _unused_rules(config) + _doubled(config) + _late_rules(config) + quiet


def conflict_warnings(config: Config, text: str) -> list[str]:
    """:func:`paging_conflicts` as ``check-config`` prints them, each with the line of its key in ``text``."""
    lines: dict[Loc, int] = {}
    node = yaml.compose(text)
    if node is not None:
        key_lines(node, (), lines)
    out = []
    for c in paging_conflicts(config):
        line = line_for(c.loc, lines)
        out.append(f"{'line ' + str(line) + ': ' if line else ''}{'.'.join(map(str, c.loc))}: {c.message}")
    return out
