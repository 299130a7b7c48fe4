"""Opsgenie REST API v2: users (with contacts and notification rules), teams and their routing
rules, schedules with rotations, overrides, escalations and integrations.

Lists are paged with ``offset``/``limit`` and followed by ``paging.next``. Auth is
``Authorization: GenieKey <key>``; EU accounts use ``--api-url https://api.eu.opsgenie.com``.
Escalation rule delays count from the alert's creation. Rotations of a schedule are cumulative
in Opsgenie (everyone on call in any rotation is notified); where they overlap, Watchstander's
one primary is the rotation listed last, and the plan says so.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.importers.fetch import Fetcher
from bot.importers.jsonread import (
    ImportFailed,
    JsonObj,
    instant,
    integer,
    obj,
    objects,
    opt_instant,
    opt_sub,
    sub,
    text,
)
from bot.importers.model import (
    Export,
    ImportedIntegration,
    ImportedLayer,
    ImportedOverride,
    ImportedPerson,
    ImportedPolicy,
    ImportedRoute,
    ImportedRule,
    ImportedSchedule,
    ImportedStep,
    ImportedTarget,
    ImportedTeam,
    Restriction,
    TargetKind,
    Unmapped,
    Via,
)
from bot.importers.opsgenie_rules import route_match
from bot.importers.timeline import NOBODY

BASE_URL = "https://api.opsgenie.com"
VENDOR = "Opsgenie"
_PAGE = 100
_MAX_PAGES = 500
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


def auth_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"GenieKey {key}"}


async def _listing(fetcher: Fetcher, path: str, extra: dict[str, str] | None = None) -> list[JsonObj]:
    out: list[JsonObj] = []
    page = await fetcher.get(path, {**(extra or {}), "offset": "0", "limit": str(_PAGE)})
    for _ in range(_MAX_PAGES):
        out += objects(page, "data", f"GET {path}")
        paging = opt_sub(page, "paging", f"GET {path}")
        following = paging.get("next") if paging else None
        if not isinstance(following, str) or not following:
            return out
        page = await fetcher.get(following)
    raise ImportFailed(f"GET {path}: more than {_MAX_PAGES} pages; is the API repeating itself?")


async def _data(fetcher: Fetcher, path: str, params: dict[str, str] | None = None) -> JsonObj:
    return sub(await fetcher.get(path, params), "data", f"GET {path}")


async def read(fetcher: Fetcher, now: datetime) -> Export:
    export = Export(vendor=VENDOR)
    for listed in await _listing(fetcher, "/v2/users"):
        uid = text(listed, "id", "users")
        export.people.append(await _person(fetcher, uid, export))
    export.teams = [ImportedTeam(text(t, "id", "teams"), text(t, "name", "teams"))
                    for t in objects(await fetcher.get("/v2/teams"), "data", "GET /v2/teams")]
    schedules = objects(await fetcher.get("/v2/schedules", {"expand": "rotation"}), "data", "GET /v2/schedules")
    for s in schedules:
        schedule = _schedule(s, export)
        export.schedules.append(schedule)
        page = await fetcher.get(f"/v2/schedules/{schedule.vendor_id}/overrides")
        for o in objects(page, "data", f"GET /v2/schedules/{schedule.vendor_id}/overrides"):
            where = f"override {o.get('alias')}"
            user = sub(o, "user", where)
            export.overrides.append(ImportedOverride(text(o, "alias", where, default="?"), schedule.vendor_id,
                                                     text(user, "id", where), instant(o, "startDate", where),
                                                     instant(o, "endDate", where)))
    export.policies = [_policy(e, export) for e in await _listing(fetcher, "/v2/escalations")]
    for team in export.teams:
        path = f"/v2/teams/{team.vendor_id}/routing-rules"
        for rule in objects(await fetcher.get(path), "data", f"GET {path}"):
            _route(rule, team, export)
    for i in await _listing(fetcher, "/v2/integrations"):
        export.integrations.append(_integration(i))
    del now  # Opsgenie's overrides list has no time filter; the mapping drops those already over
    return export


_VIA: dict[str, Via] = {"email": "email", "sms": "sms", "voice": "call", "mobile": "slack"}


async def _person(fetcher: Fetcher, uid: str, export: Export) -> ImportedPerson:
    u = await _data(fetcher, f"/v2/users/{uid}", {"expand": "contact"})
    where = f"user {uid}"
    person = ImportedPerson(vendor_id=uid, name=text(u, "fullName", where), email=text(u, "username", where),
                            timezone=text(u, "timeZone", where, default="UTC"))
    for c in objects(u, "userContacts", where):
        if text(c, "contactMethod", where) in ("sms", "voice") and person.phone is None:
            person.phone = "+" + "".join(ch for ch in text(c, "to", where) if ch.isdigit())
    rules = objects(await fetcher.get(f"/v2/users/{uid}/notification-rules"), "data", f"{where} notification rules")
    for rule in rules:
        if rule.get("actionType") != "create-alert" or rule.get("enabled") is False:
            continue
        path = f"/v2/users/{uid}/notification-rules/{text(rule, 'id', where)}"
        for step in objects(await _data(fetcher, path), "steps", path):
            if step.get("enabled") is False:
                continue
            contact = sub(step, "contact", path)
            method = text(contact, "method", path)
            if method not in _VIA:
                export.unmapped.append(Unmapped("notification rule", person.name, f"{method} has no equivalent"))
                continue
            person.rules.append(ImportedRule(_amount(opt_sub(step, "sendAfter", path), path), _VIA[method],
                                             "mobile app → Slack DM" if method == "mobile" else ""))
    person.rules.sort(key=lambda r: r.after)
    return person


def _amount(value: JsonObj | None, where: str) -> timedelta:
    if value is None:
        return timedelta(0)
    unit = text(value, "timeUnit", where, default="minutes").lower()
    if unit not in _UNITS:
        raise ImportFailed(f"{where}: unknown timeUnit {unit!r}")
    return timedelta(seconds=integer(value, "timeAmount", where) * _UNITS[unit])


_TURN = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}


def _schedule(s: JsonObj, export: Export) -> ImportedSchedule:
    where = f"schedule {s.get('name')!r}"
    layers = []
    for r in objects(s, "rotations", where):
        rwhere = f"{where} rotation {r.get('name')!r}"
        kind = text(r, "type", rwhere)
        if kind not in _TURN:
            raise ImportFailed(f"{rwhere}: unknown rotation type {kind!r}")
        members = []
        for p in objects(r, "participants", rwhere):
            who = text(p, "type", rwhere)
            if who == "user":
                members.append(text(p, "id", rwhere))
                continue
            members.append(NOBODY)  # the turn is kept, with nobody on call in this rotation
            if who != "none":
                export.unmapped.append(Unmapped("rotation participant", f"{r.get('name')}: {p.get('name', who)}",
                                                f"a {who} is not a person; its turns have nobody on call"))
        start = instant(r, "startDate", rwhere)
        layers.append(ImportedLayer(name=text(r, "name", rwhere, default=kind), start=start,
                                    end=opt_instant(r, "endDate", rwhere), virtual_start=start,
                                    turn=_TURN[kind] * integer(r, "length", rwhere, default=1), members=members,
                                    restrictions=_restrictions(opt_sub(r, "timeRestriction", rwhere), rwhere),
                                    wall_clock=kind != "hourly"))
    owner = opt_sub(s, "ownerTeam", where)
    return ImportedSchedule(vendor_id=text(s, "id", where), name=text(s, "name", where),
                            timezone=text(s, "timezone", where, default="UTC"), layers=layers,
                            team_ids=[text(owner, "id", where)] if owner else [], cumulative=True)


def _restrictions(tr: JsonObj | None, where: str) -> list[Restriction]:
    if tr is None:
        return []
    kind = text(tr, "type", where)
    if kind == "time-of-day":
        r = sub(tr, "restriction", where)
        start, end = _clock(r, "start", where), _clock(r, "end", where)
        return [Restriction(start, _span(start, end, 0, 0))]
    out = []
    for r in objects(tr, "restrictions", where):
        first, last = _day(r, "startDay", where), _day(r, "endDay", where)
        start, end = _clock(r, "start", where), _clock(r, "end", where)
        out.append(Restriction(start, _span(start, end, first, last), weekday=first))
    return out


def _clock(r: JsonObj, prefix: str, where: str) -> time:
    hour, minute = integer(r, f"{prefix}Hour", where), integer(r, f"{prefix}Min", where, default=0)
    if hour == 24 and minute == 0:
        return time(0)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ImportFailed(f"{where}: {prefix}Hour/{prefix}Min {hour}:{minute} is not a time of day")
    return time(hour, minute)


def _day(r: JsonObj, key: str, where: str) -> int:
    day = text(r, key, where).lower()
    if day not in _DAYS:
        raise ImportFailed(f"{where}: {key} {day!r} is not a day of the week")
    return _DAYS.index(day)


def _span(start: time, end: time, first: int, last: int) -> timedelta:
    """From ``first`` day at ``start`` to the next ``last`` day at ``end`` (a full week if equal)."""
    a = timedelta(days=first, hours=start.hour, minutes=start.minute)
    b = timedelta(days=last, hours=end.hour, minutes=end.minute)
    span = (b - a) % timedelta(weeks=1) if first != last else (b - a) % timedelta(days=1)
    return span or (timedelta(weeks=1) if first != last else timedelta(days=1))


_KINDS: dict[str, TargetKind] = {"user": "user", "schedule": "schedule", "team": "team"}


def _policy(e: JsonObj, export: Export) -> ImportedPolicy:
    where = f"escalation {e.get('name')!r}"
    by_delay: dict[timedelta, list[ImportedTarget]] = {}
    notes: dict[timedelta, str] = {}
    for rule in objects(e, "rules", where):
        at = _amount(opt_sub(rule, "delay", where), where)
        recipient = sub(rule, "recipient", where)
        kind = text(recipient, "type", where)
        label = text(recipient, "name", where, default=text(recipient, "username", where, default=kind))
        notify = text(rule, "notifyType", where, default="default")
        if notify != "default":
            export.unmapped.append(Unmapped("escalation rule", f"{e.get('name')}: {label}",
                                            f"notifies the {notify!r} of it; Watchstander pages who is on call now"))
            continue
        by_delay.setdefault(at, []).append(ImportedTarget(_KINDS.get(kind, "other"), text(recipient, "id", where), label))
        if rule.get("condition", "if-not-acked") != "if-not-acked":
            notes[at] = "fires unless the alert is closed; Watchstander's steps stop at the acknowledgement"
    repeat = opt_sub(e, "repeat", where)
    owner = opt_sub(e, "ownerTeam", where)
    return ImportedPolicy(vendor_id=text(e, "id", where), name=text(e, "name", where),
                          steps=[ImportedStep(at, by_delay[at], notes.get(at, "")) for at in sorted(by_delay)],
                          repeats=integer(repeat, "count", where, default=0) if repeat else 0,
                          team_ids=[text(owner, "id", where)] if owner else [])


def _route(rule: JsonObj, team: ImportedTeam, export: Export) -> None:
    where = f"team {team.name} routing rule {rule.get('name')!r}"
    notify = sub(rule, "notify", where)
    kind = text(notify, "type", where)
    name = text(rule, "name", where, default="rule")
    if rule.get("isDefault") is True:
        return  # the team's integrations carry the team already
    if kind == "none":
        export.unmapped.append(Unmapped("routing rule", name, "notifies nobody; use a silence in Watchstander"))
        return
    matches, problem = route_match(obj(rule.get("criteria", {}), where), where)
    if problem:
        export.unmapped.append(Unmapped("routing rule", name, problem))
    for match in matches:
        nid = text(notify, "id", where)
        export.routes.append(ImportedRoute(name, match, nid if kind == "escalation" else None,
                                           nid if kind == "schedule" else None, team.vendor_id))


_INTEGRATIONS = {"prometheus": "alertmanager", "alertmanager": "alertmanager", "grafana": "grafana",
                 "sentry": "sentry", "api": "generic", "webhook": "generic", "pagerduty": "pagerduty"}


def _integration(i: JsonObj) -> ImportedIntegration:
    where = f"integration {i.get('name')!r}"
    kind = text(i, "type", where)
    owner = opt_sub(i, "ownerTeam", where)
    team_id = text(owner, "id", where) if owner else (i.get("teamId") if isinstance(i.get("teamId"), str) else None)
    return ImportedIntegration(vendor_id=text(i, "id", where), name=text(i, "name", where), kind=kind, policy_id=None,
                               watchstander_type=_INTEGRATIONS.get(kind.lower()), team_id=str(team_id) if team_id else None)
