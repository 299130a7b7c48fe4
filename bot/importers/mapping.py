"""The vendor's objects as Watchstander's config: people, one team per escalation policy (with the
schedule its first level pages), escalation steps, integrations, and the overrides to store.

Watchstander's team has one rotation. A vendor schedule that is one plain rotation (whole-day
turns, no restrictions, no end) becomes that rotation; any other — several layers, restricted
hours, a layer that ends — is written as an iCal calendar of its rendered shifts for the next
year beside the config (the nearest equivalent; the plan says so and until when). Overrides go
to the database, as if made with ``/oncall override``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import E164
from bot.config.fields import email_address
from bot.importers.calendar import calendar_bytes
from bot.importers.inbound import integrations, routes
from bot.importers.model import (
    Export,
    ImportedPerson,
    ImportedPolicy,
    ImportedSchedule,
    ImportedTarget,
    Unmapped,
)
from bot.importers.names import slug, unique
from bot.importers.timeline import final_shifts, handoff, merged, overlap, turn_at

CALENDAR_AHEAD = timedelta(days=365)
_WEEK = timedelta(weeks=1)
_FOUR_WEEKS = timedelta(weeks=4)
_DAY = timedelta(days=1)
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
YamlDict = dict[str, object]


@dataclass(frozen=True, slots=True)
class OverrideToStore:
    team: str
    person: str  # Slack id
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class TeamPlan:
    name: str
    policy: str
    schedule: ImportedSchedule | None
    how: str  # the schedule's mapping, in words
    steps: list[str]  # the escalation, in words


@dataclass
class Mapped:
    export: Export
    config: YamlDict
    calendars: dict[str, bytes] = field(default_factory=dict)  # file name → .ics
    overrides: list[OverrideToStore] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # variable → what it holds
    teams: list[TeamPlan] = field(default_factory=list)
    integrations: list[tuple[str, str, str]] = field(default_factory=list)  # (vendor name, ws name, where to point)
    routes: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, team, match)
    unmapped: list[Unmapped] = field(default_factory=list)
    team_of_schedule: dict[str, str] = field(default_factory=dict)
    team_of_policy: dict[str, str] = field(default_factory=dict)
    team_of_vendor_team: dict[str, str] = field(default_factory=dict)


def map_export(export: Export, *, now: datetime, public_url: str) -> Mapped:
    out = Mapped(export=export, config={}, unmapped=list(export.unmapped))
    people = [_person(p, out) for p in export.people]
    zones = Counter(s.timezone for s in export.schedules)
    out.config = {"timezone": zones.most_common(1)[0][0] if zones else "UTC",
                  "people": [p for p in people if p is not None]}
    teams = _teams(export, out, now)
    out.config["teams"] = teams
    out.config["routes"] = routes(export, out)
    out.config["integrations"] = integrations(export, out, public_url)
    _overrides(export, out, now)
    for s in export.schedules:
        if s.vendor_id not in out.team_of_schedule:
            out.unmapped.append(Unmapped("schedule", s.name, "no escalation policy pages it at its first level, and "
                                         "a Watchstander team has one schedule; add a team for it by hand"))
    return out


def _person(p: ImportedPerson, out: Mapped) -> YamlDict | None:
    if p.slack_id is None:
        why = f"no Slack user has the e-mail {p.email}" if p.email else "has no e-mail to find them in Slack by"
        out.unmapped.append(Unmapped("person", p.name, f"{why}; they are left out of rotations and policies"))
        return None
    entry: YamlDict = {"slack_id": p.slack_id, "name": p.name}
    if p.phone and not E164.match(p.phone):
        out.unmapped.append(Unmapped("phone", p.name, "is not a full international number (+country code); "
                                     "add it by hand"))
        p.phone = None
    if p.phone:
        entry["phone"] = p.phone
    if p.email:
        try:
            entry["email"] = email_address(p.email)
        except ValueError:
            out.unmapped.append(Unmapped("e-mail", p.name, "is not an e-mail address Watchstander can send to"))
    if p.timezone:
        try:
            ZoneInfo(p.timezone)
            entry["timezone"] = p.timezone
        except (KeyError, ValueError):
            out.unmapped.append(Unmapped("time zone", p.name, f"{p.timezone!r} is not an IANA zone name"))
    rules = _rules(p, entry, out)
    if rules:
        entry["notify"] = rules
    return entry


def _rules(p: ImportedPerson, entry: YamlDict, out: Mapped) -> list[YamlDict]:
    rules: list[YamlDict] = []
    for rule in p.rules:
        if rule.via in ("sms", "call") and not p.phone:
            out.unmapped.append(Unmapped("notification rule", p.name, f"{rule.via} without a phone number"))
            continue
        if rule.via == "email" and "email" not in entry:
            out.unmapped.append(Unmapped("notification rule", p.name, "e-mail without an e-mail address"))
            continue
        item: YamlDict = {"after": _minutes(rule.after), "via": rule.via}
        if item not in rules:
            rules.append(item)
    return rules


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)}m"


def _teams(export: Export, out: Mapped, now: datetime) -> list[YamlDict]:
    policy_count = Counter(t for p in export.policies for t in p.team_ids[:1])
    taken: set[str] = set()
    names: dict[str, str] = {}
    for p in export.policies:
        vendor_team = export.team(p.team_ids[0]) if len(p.team_ids) == 1 else None
        base = vendor_team.name if vendor_team and policy_count[vendor_team.vendor_id] == 1 else p.name
        names[p.vendor_id] = unique(slug(base), taken)
        out.team_of_policy[p.vendor_id] = names[p.vendor_id]
        for tid in p.team_ids[:1]:
            out.team_of_vendor_team.setdefault(tid, names[p.vendor_id])
        first = _first_schedule(p)
        if first is not None and first not in out.team_of_schedule:
            out.team_of_schedule[first] = names[p.vendor_id]
    teams = [_team(p, names[p.vendor_id], export, out, now) for p in export.policies]
    used = {t for p in export.policies for t in p.team_ids}
    for vt in export.teams:
        if vt.vendor_id not in used:
            out.unmapped.append(Unmapped("team", vt.name, "no escalation policy belongs to it, so nothing pages it; "
                                         "its people are imported"))
    wanted = {target.removeprefix("slack:@") for t in teams for step in _steps_of(t) for target in step
              if target.startswith("slack:@")}
    for t in teams:
        if handle_of(str(t["name"])) in wanted:
            t["slack_handle"] = handle_of(str(t["name"]))
    return teams


def handle_of(team: str) -> str:
    """The Slack user group that follows a team's on-call, for other teams' policies to page."""
    return f"{team[:14].rstrip('-_')}-oncall"


def _steps_of(team: YamlDict) -> list[list[str]]:
    steps = team.get("escalation")
    if not isinstance(steps, list):
        return []
    return [[str(t) for t in s["notify"]] for s in steps if isinstance(s, dict) and isinstance(s.get("notify"), list)]


def _first_schedule(policy: ImportedPolicy) -> str | None:
    for step in policy.steps:
        for target in step.targets:
            if target.kind == "schedule":
                return target.vendor_id
    return None


def _team(policy: ImportedPolicy, name: str, export: Export, out: Mapped, now: datetime) -> YamlDict:
    team: YamlDict = {"name": name, "channel": f"{name}-oncall"}
    sid = _first_schedule(policy)
    schedule = export.schedule(sid) if sid else None
    how = "no schedule: nobody is on call until an override puts someone there"
    if schedule is not None and out.team_of_schedule.get(schedule.vendor_id) == name:
        team["schedule"], how = _schedule(schedule, name, export, out, now)
    elif schedule is not None:
        how = f"shares {schedule.name!r} with team {out.team_of_schedule[schedule.vendor_id]}; paged through its Slack group"
    steps, words = _escalation(policy, name, export, out)
    if steps:
        team["escalation"] = steps
    else:
        out.unmapped.append(Unmapped("escalation policy", policy.name, "no level has a target Watchstander can page; "
                                     "the team keeps Watchstander's default escalation"))
    if policy.repeats:
        team["repeat"] = min(policy.repeats, 10)
        if policy.repeats > 10:
            out.unmapped.append(Unmapped("escalation policy", policy.name, f"repeats {policy.repeats} times; "
                                         "Watchstander repeats at most 10"))
    out.teams.append(TeamPlan(name, policy.name, schedule, how, words))
    return team


def _schedule(s: ImportedSchedule, team: str, export: Export, out: Mapped,
              now: datetime) -> tuple[YamlDict, str]:
    rotation = _as_rotation(s, export, now)
    if rotation is not None:
        return rotation
    if s.cumulative and (both := overlap(s, now, now + _FOUR_WEEKS)):
        out.unmapped.append(Unmapped("rotations", s.name, f"overlap for {both.total_seconds() / 3600:g}h in the next "
                                     f"four weeks: {export.vendor} notifies everyone on call in any rotation; "
                                     "Watchstander has one primary there, from the rotation listed last"))
    start = now - _DAY
    shifts = merged(final_shifts(s, start, now + CALENDAR_AHEAD))
    missing = {sh.person for sh in shifts if (p := export.person(sh.person)) is None or p.slack_id is None}
    for vendor_id in sorted(missing):
        who = export.person(vendor_id)
        out.unmapped.append(Unmapped("shift", f"{s.name}: {who.name if who else vendor_id}",
                                     "their shifts are left empty: they have no Slack user"))
    named = [(sh, export.person(sh.person)) for sh in shifts if sh.person not in missing]
    out.calendars[f"{team}.ics"] = calendar_bytes(
        s.name, [(sh.start, sh.end, p.name, str(p.slack_id)) for sh, p in named if p is not None], team=team)
    until = (now + CALENDAR_AHEAD).astimezone(ZoneInfo(s.timezone)).date().isoformat()
    reasons = []
    if len(s.layers) > 1:
        reasons.append(f"{len(s.layers)} layers")
    if any(layer.restrictions for layer in s.layers):
        reasons.append("restricted hours (" + "; ".join(_restriction_words(s)) + ")")
    if any(layer.end is not None for layer in s.layers):
        reasons.append("a layer that ends")
    if not reasons:
        reasons.append(_other_reason(s, export))
    why = ", ".join(reasons)
    how = (f"{why}: Watchstander has one rotation per team, so the rendered shifts are written to {team}.ics "
           f"until {until} (run the import again before then, or rebuild it as a rotation)")
    out.unmapped.append(Unmapped("schedule layers", s.name, f"{why} cannot be a Watchstander rotation; nearest "
                                 f"equivalent: the calendar {team}.ics with the same shifts until {until}"))
    return {"ical": f"{team}.ics", "timezone": s.timezone}, how


def _other_reason(s: ImportedSchedule, export: Export) -> str:
    layer = s.layers[0] if s.layers else None
    if layer is None or not layer.members:
        return "no layer with people"
    if any((p := export.person(m)) is None or p.slack_id is None for m in layer.members):
        return "people without a Slack user in the rotation"
    if not layer.wall_clock:
        return f"turns of {layer.turn.total_seconds() / 3600:g}h of elapsed time"
    return "a first turn that starts in the future mid-turn"


def _restriction_words(s: ImportedSchedule) -> list[str]:
    out = []
    for layer in s.layers:
        for r in layer.restrictions:
            day = "every day" if r.weekday is None else _WEEKDAYS[r.weekday]
            out.append(f"{layer.name}: {day} {r.start.strftime('%H:%M')} for {r.length.total_seconds() / 3600:g}h")
    return out


def _as_rotation(s: ImportedSchedule, export: Export, now: datetime) -> tuple[YamlDict, str] | None:
    if len(s.layers) != 1:
        return None
    layer = s.layers[0]
    zone = ZoneInfo(s.timezone)
    days = layer.turn / _DAY
    if layer.restrictions or layer.end is not None or not layer.wall_clock or not layer.members:
        return None
    people = [export.person(m) for m in layer.members]
    if any(p is None or p.slack_id is None for p in people):
        return None
    k = turn_at(layer, zone, max(now, layer.start))
    first = handoff(layer, zone, k)
    if first < layer.start and layer.start > now:
        return None  # a layer starting mid-turn in the future: its first short turn is not a rotation's
    local = first.astimezone(zone)
    ids = [str(p.slack_id) for p in people if p is not None]
    n = len(ids)
    primary = [ids[(k + i) % n] for i in range(n)]
    at = local.strftime("%H:%M")
    if layer.turn == _WEEK:
        rotation, hand = "weekly", f"{_WEEKDAYS[local.weekday()]} {at}"
    elif layer.turn == _DAY:
        rotation, hand = "daily", at
    else:
        rotation, hand = f"{int(days)}d", at
    words = (f"one layer {layer.name!r}: a {rotation} rotation of {n}, handoff {hand} {s.timezone}, "
             f"from {local.date().isoformat()} (the turn in force now)")
    return {"rotation": rotation, "handoff": hand, "timezone": s.timezone, "start": local.date().isoformat(),
            "primary": primary}, words


def _escalation(policy: ImportedPolicy, team: str, export: Export, out: Mapped) -> tuple[list[YamlDict], list[str]]:
    steps: list[YamlDict] = []
    words: list[str] = []
    for level, step in enumerate(policy.steps, 1):
        targets = [t for t in (_target(x, team, export, out, policy.name, level) for x in step.targets) if t]
        if targets:
            steps.append({"after": _minutes(step.at), "notify": targets})
            words.append(f"level {level} at +{_minutes(step.at)}: " + ", ".join(targets))
        else:
            words.append(f"level {level}: nothing Watchstander can page (see below)")
        if step.note:
            out.unmapped.append(Unmapped("policy step", f"{policy.name} level {level}", step.note))
    if policy.repeats:
        words.append(f"then the whole policy again, {min(policy.repeats, 10)} time(s)")
    return steps, words


def _target(t: ImportedTarget, team: str, export: Export, out: Mapped, policy: str, level: int) -> str | None:
    where = f"{policy} level {level}"
    if t.kind == "user":
        p = export.person(t.vendor_id)
        if p is not None and p.slack_id:
            return f"person:{p.slack_id}"
        out.unmapped.append(Unmapped("policy target", f"{where}: {p.name if p else t.name}",
                                     "this person has no Slack user" if p else "not among the people read"))
        return None
    if t.kind in ("schedule", "team"):
        owner = (out.team_of_schedule if t.kind == "schedule" else out.team_of_vendor_team).get(t.vendor_id)
        if owner == team:
            return "person:primary"
        if owner is not None:
            return f"slack:@{handle_of(owner)}"
        out.unmapped.append(Unmapped("policy target", f"{where}: {t.name}", f"a {t.kind} no Watchstander team is "
                                     "built from"))
        return None
    out.unmapped.append(Unmapped("policy target", f"{where}: {t.name}", f"{t.kind} targets have no equivalent"))
    return None


def _overrides(export: Export, out: Mapped, now: datetime) -> None:
    for o in export.overrides:
        team = out.team_of_schedule.get(o.schedule_id)
        person = export.person(o.person_id)
        label = f"{person.name if person else o.person_id} {o.start.isoformat()} → {o.end.isoformat()}"
        if o.end <= now:
            continue
        if team is None:
            out.unmapped.append(Unmapped("override", label, "on a schedule no team is built from"))
        elif person is None or person.slack_id is None:
            out.unmapped.append(Unmapped("override", label, "the person has no Slack user"))
        else:
            out.overrides.append(OverrideToStore(team, person.slack_id, o.start, o.end,
                                                 f"imported from {export.vendor} override {o.vendor_id}"))
