"""Grafana OnCall public API v1: users and their personal notification rules, teams, schedules
and their on-call shifts (overrides are shifts too), escalation chains with their policies, and
integrations with their routes.

Lists are pages of ``results`` followed by the ``next`` URL. Auth is ``Authorization: <token>``;
the base URL is the OnCall API's (``--url``). Users carry their Slack id when OnCall is connected
to Slack; phone numbers are not in the public API. A shift's ``start`` is local to its
``time_zone`` (else the schedule's); the higher ``level`` wins where shifts overlap.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.importers.fetch import Fetcher
from bot.importers.grafana_shifts import local_instant, shift_layer
from bot.importers.jsonread import ImportFailed, JsonObj, integer, objects, opt_sub, opt_text, strings, text
from bot.importers.model import (
    Export,
    ImportedIntegration,
    ImportedLayer,
    ImportedOverride,
    ImportedPerson,
    ImportedPolicy,
    ImportedRule,
    ImportedSchedule,
    ImportedStep,
    ImportedTarget,
    ImportedTeam,
    Unmapped,
    Via,
)

VENDOR = "Grafana OnCall"
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_MAX_PAGES = 500


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": token}


async def _listing(fetcher: Fetcher, path: str) -> list[JsonObj]:
    out: list[JsonObj] = []
    page = await fetcher.get(path)
    for _ in range(_MAX_PAGES):
        out += objects(page, "results", f"GET {path}")
        following = page.get("next")
        if not isinstance(following, str) or not following:
            return out
        page = await fetcher.get(following)
    raise ImportFailed(f"GET {path}: more than {_MAX_PAGES} pages; is the API repeating itself?")


async def read(fetcher: Fetcher, now: datetime) -> Export:
    del now  # overrides are shifts; the mapping drops those already over
    export = Export(vendor=VENDOR)
    rules: defaultdict[str, list[JsonObj]] = defaultdict(list)
    for r in await _listing(fetcher, "/api/v1/personal_notification_rules/"):
        rules[text(r, "user_id", "personal notification rule")].append(r)
    export.people = [_person(u, rules, export) for u in await _listing(fetcher, "/api/v1/users/")]
    export.unmapped.append(Unmapped("phone numbers", "everyone", "Grafana OnCall's API does not give them; add "
                                    "phone: to people by hand for SMS and calls"))
    export.teams = [ImportedTeam(text(t, "id", "teams"), text(t, "name", "teams"))
                    for t in await _listing(fetcher, "/api/v1/teams/")]
    shifts = {text(s, "id", "on_call_shifts"): s for s in await _listing(fetcher, "/api/v1/on_call_shifts/")}
    for s in await _listing(fetcher, "/api/v1/schedules/"):
        _schedule(s, shifts, export)
    policies: defaultdict[str, list[JsonObj]] = defaultdict(list)
    for p in await _listing(fetcher, "/api/v1/escalation_policies/"):
        policies[text(p, "escalation_chain_id", "escalation policy")].append(p)
    for chain in await _listing(fetcher, "/api/v1/escalation_chains/"):
        export.policies.append(_chain(chain, policies[text(chain, "id", "escalation chain")], export))
    for r in await _listing(fetcher, "/api/v1/routes/"):
        if r.get("is_the_last_route") is not True:
            export.unmapped.append(Unmapped("route", text(r, "routing_regex", "route", default="?"),
                                            "matches a template or regex against the raw payload; Watchstander's "
                                            "routes match labels: write one under routes: by hand"))
    export.integrations = [_integration(i) for i in await _listing(fetcher, "/api/v1/integrations/")]
    return export


_VIA: dict[str, Via] = {"notify_by_slack": "slack", "notify_by_sms": "sms", "notify_by_phone_call": "call",
                        "notify_by_email": "email", "notify_by_mobile_app": "slack",
                        "notify_by_mobile_app_critical": "slack"}


def _person(u: JsonObj, rules: dict[str, list[JsonObj]], export: Export) -> ImportedPerson:
    where = f"user {u.get('id')}"
    uid = text(u, "id", where)
    name = opt_text(u, "name", where) or text(u, "username", where)
    person = ImportedPerson(uid, name, opt_text(u, "email", where), opt_text(u, "timezone", where))
    slack = u.get("slack")
    first = slack[0] if isinstance(slack, list) and slack else slack
    if isinstance(first, dict) and isinstance(first.get("user_id"), str) and _SLACK_ID.match(first["user_id"]):
        person.slack_id = first["user_id"]  # else looked up by e-mail
    after = timedelta(0)
    for r in sorted(rules.get(uid, []), key=lambda r: integer(r, "position", where, default=0)):
        if r.get("important") is True:
            continue
        kind = text(r, "type", where)
        if kind == "wait":
            after += timedelta(seconds=integer(r, "duration", where, default=300))
        elif kind in _VIA:
            note = "mobile app → Slack DM" if "mobile" in kind else ""
            person.rules.append(ImportedRule(after, _VIA[kind], note))
        else:
            export.unmapped.append(Unmapped("notification rule", name, f"{kind} has no equivalent"))
    return person


def _schedule(s: JsonObj, shifts: dict[str, JsonObj], export: Export) -> None:
    where = f"schedule {s.get('name')!r}"
    sid, name = text(s, "id", where), text(s, "name", where)
    zone = text(s, "time_zone", where, default="UTC")
    team = opt_text(s, "team_id", where)
    schedule = ImportedSchedule(sid, name, zone, [], [team] if team else [])
    export.schedules.append(schedule)
    if text(s, "type", where, default="calendar") == "ical":
        export.unmapped.append(Unmapped("schedule", name, "is an iCal URL in Grafana OnCall; point the team's "
                                        "schedule at that calendar (schedule: {ical: …}) instead"))
        return
    mine = [shifts[i] for i in strings(s, "shifts") if i in shifts]
    layered: list[tuple[int, int, ImportedLayer]] = []
    for shift in mine:
        swhere = f"{where} shift {shift.get('name')!r}"
        shift_zone = ZoneInfo(opt_text(shift, "time_zone", swhere) or zone)
        if shift.get("type") == "override":
            _override(shift, sid, shift_zone, swhere, export)
            continue
        layer, problem = shift_layer(shift, shift_zone, swhere)
        if problem:
            export.unmapped.append(Unmapped("shift", f"{name}: {shift.get('name')}", problem))
        if layer is not None:
            layered.append((integer(shift, "level", swhere, default=0), len(layered), layer))
    schedule.layers = [layer for _, _, layer in sorted(layered, key=lambda x: (x[0], x[1]))]


def _override(shift: JsonObj, sid: str, zone: ZoneInfo, where: str, export: Export) -> None:
    users = strings(shift, "users")
    start = local_instant(text(shift, "start", where), zone, where)
    end = start + timedelta(seconds=integer(shift, "duration", where))
    if len(users) != 1:
        export.unmapped.append(Unmapped("override", str(shift.get("name")), f"names {len(users)} people; "
                                        "a Watchstander override puts one person on call"))
        return
    export.overrides.append(ImportedOverride(text(shift, "id", where), sid, users[0], start, end))


def _chain(chain: JsonObj, steps: list[JsonObj], export: Export) -> ImportedPolicy:
    where = f"escalation chain {chain.get('name')!r}"
    name = text(chain, "name", where)
    at = timedelta(0)
    by_at: dict[timedelta, list[ImportedTarget]] = {}
    repeats = 0
    for p in sorted(steps, key=lambda p: integer(p, "position", where, default=0)):
        kind = text(p, "type", where)
        if kind == "wait":
            at += timedelta(seconds=integer(p, "duration", where, default=60))
        elif kind in ("notify_persons", "notify_person_next_each_time"):
            key = "persons_to_notify" if kind == "notify_persons" else "persons_to_notify_next_each_time"
            for uid in strings(p, key):
                by_at.setdefault(at, []).append(ImportedTarget("user", uid, uid))
            if kind == "notify_person_next_each_time":
                export.unmapped.append(Unmapped("escalation step", name, "notifies the next person each time; "
                                                "Watchstander notifies them all at that step"))
        elif kind == "notify_on_call_from_schedule":
            target = text(p, "notify_on_call_from_schedule", where)
            by_at.setdefault(at, []).append(ImportedTarget("schedule", target, target))
        elif kind == "repeat_escalation":
            repeats = 5  # Grafana OnCall repeats a chain at most five times
        else:
            export.unmapped.append(Unmapped("escalation step", f"{name} at +{int(at.total_seconds() // 60)}m",
                                            f"{kind} has no equivalent"))
    team = opt_text(chain, "team_id", where)
    return ImportedPolicy(text(chain, "id", where), name, [ImportedStep(a, by_at[a]) for a in sorted(by_at)],
                          repeats, [team] if team else [])


_TYPES = {"alertmanager": "alertmanager", "grafana_alerting": "grafana", "grafana": "grafana",
          "webhook": "generic", "formatted_webhook": "generic"}


def _integration(i: JsonObj) -> ImportedIntegration:
    where = f"integration {i.get('name')!r}"
    route = opt_sub(i, "default_route", where)
    kind = text(i, "type", where)
    return ImportedIntegration(text(i, "id", where), text(i, "name", where), kind,
                               opt_text(route, "escalation_chain_id", where) if route else None,
                               _TYPES.get(kind), team_id=opt_text(i, "team_id", where))
