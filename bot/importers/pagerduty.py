"""PagerDuty REST API v2: users (with contact methods and notification rules), teams, schedules
with their layers, overrides, escalation policies and services with their integrations.

Lists are paged with ``offset``/``limit`` until ``more`` is false. Auth is
``Authorization: Token token=<key>``. A schedule's ``schedule_layers`` come highest layer first
(PagerDuty renders the top layer over the ones below it); the model wants them lowest first.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.importers.fetch import Fetcher
from bot.importers.jsonread import (
    ImportFailed,
    JsonObj,
    instant,
    integer,
    objects,
    opt_instant,
    opt_sub,
    opt_text,
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
from bot.oncall.shifts import Origin, Role, Shift

BASE_URL = "https://api.pagerduty.com"
VENDOR = "PagerDuty"
_PAGE = 100
_MAX_PAGES = 500
_OVERRIDES_AHEAD = timedelta(days=90)
RENDERED_AHEAD = timedelta(weeks=4)  # the final schedule asked for, for --compare


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Token token={token}", "Accept": "application/vnd.pagerduty+json;version=2"}


async def _listing(fetcher: Fetcher, path: str, key: str, extra: dict[str, str] | None = None) -> list[JsonObj]:
    out: list[JsonObj] = []
    offset = 0
    for _ in range(_MAX_PAGES):
        page = await fetcher.get(path, {**(extra or {}), "offset": str(offset), "limit": str(_PAGE)})
        items = objects(page, key, f"GET {path}")
        out += items
        if page.get("more") is not True or not items:
            return out
        offset += len(items)
    raise ImportFailed(f"GET {path}: more than {_MAX_PAGES} pages; is the API repeating itself?")


async def read(fetcher: Fetcher, now: datetime) -> Export:
    export = Export(vendor=VENDOR)
    users = await _listing(fetcher, "/users", "users", {"include[]": "contact_methods"})
    export.people = [_person(u, f"users[{i}]", export) for i, u in enumerate(users)]
    export.teams = [ImportedTeam(text(t, "id", "teams"), text(t, "name", "teams"))
                    for t in await _listing(fetcher, "/teams", "teams")]
    for listed in await _listing(fetcher, "/schedules", "schedules"):
        sid = text(listed, "id", "schedules")
        window = {"since": now.isoformat(), "until": (now + RENDERED_AHEAD).isoformat()}
        full = sub(await fetcher.get(f"/schedules/{sid}", window), "schedule", f"GET /schedules/{sid}")
        export.schedules.append(_schedule(full, f"schedule {sid}"))
        since, until = now.isoformat(), (now + _OVERRIDES_AHEAD).isoformat()
        page = await fetcher.get(f"/schedules/{sid}/overrides", {"since": since, "until": until})
        for o in objects(page, "overrides", f"GET /schedules/{sid}/overrides"):
            where = f"override {o.get('id')}"
            export.overrides.append(ImportedOverride(text(o, "id", where, default="?"), sid,
                                                     text(sub(o, "user", where), "id", where),
                                                     instant(o, "start", where), instant(o, "end", where)))
    export.policies = [_policy(p, export) for p in await _listing(fetcher, "/escalation_policies",
                                                                    "escalation_policies")]
    for service in await _listing(fetcher, "/services", "services", {"include[]": "integrations"}):
        export.integrations += _integrations(service, export)
    return export


_VIA: dict[str, tuple[Via, str]] = {
    "email_contact_method": ("email", ""),
    "sms_contact_method": ("sms", ""),
    "phone_contact_method": ("call", ""),
    "push_notification_contact_method": ("slack", "push notification → Slack DM"),
}


def _person(u: JsonObj, where: str, export: Export) -> ImportedPerson:
    person = ImportedPerson(vendor_id=text(u, "id", where), name=text(u, "name", where),
                            email=opt_text(u, "email", where), timezone=opt_text(u, "time_zone", where))
    kinds: dict[str, str] = {}
    for m in objects(u, "contact_methods", where):
        kind = text(m, "type", where).removesuffix("_reference")
        kinds[text(m, "id", where)] = kind
        if kind in ("phone_contact_method", "sms_contact_method") and person.phone is None and "address" in m:
            person.phone = f"+{integer(m, 'country_code', where, default=1)}{text(m, 'address', where)}"
    for r in objects(u, "notification_rules", where):
        if r.get("urgency", "high") != "high":
            continue
        method = sub(r, "contact_method", where)
        kind = kinds.get(text(method, "id", where), text(method, "type", where).removesuffix("_reference"))
        delay = timedelta(minutes=integer(r, "start_delay_in_minutes", where, default=0))
        if kind not in _VIA:
            export.unmapped.append(Unmapped("notification rule", person.name, f"contact method {kind} has no "
                                            "Watchstander equivalent"))
            continue
        via, note = _VIA[kind]
        person.rules.append(ImportedRule(delay, via, note))
    person.rules.sort(key=lambda rule: rule.after)
    return person


def _schedule(s: JsonObj, where: str) -> ImportedSchedule:
    zone = text(s, "time_zone", where, default="UTC")
    layers = [_layer(layer, f"{where} layer {i}") for i, layer in enumerate(objects(s, "schedule_layers", where))]
    final = opt_sub(s, "final_schedule", where)
    entries = objects(final, "rendered_schedule_entries", f"{where} final_schedule") if final else []
    rendered = [Shift(text(sub(e, "user", where), "id", where), Role.PRIMARY, instant(e, "start", where),
                      instant(e, "end", where), Origin.ROTATION) for e in entries]
    return ImportedSchedule(vendor_id=text(s, "id", where), name=text(s, "name", where), timezone=zone,
                            layers=layers[::-1], team_ids=[text(t, "id", where) for t in objects(s, "teams", where)],
                            rendered=rendered or None)


def _layer(layer: JsonObj, where: str) -> ImportedLayer:
    turn = timedelta(seconds=integer(layer, "rotation_turn_length_seconds", where))
    if turn <= timedelta(0):
        raise ImportFailed(f"{where}: rotation_turn_length_seconds must be above 0")
    members = [text(sub(m, "user", where), "id", where) for m in objects(layer, "users", where)]
    return ImportedLayer(
        name=text(layer, "name", where, default="Layer"), start=instant(layer, "start", where),
        end=opt_instant(layer, "end", where), virtual_start=instant(layer, "rotation_virtual_start", where),
        turn=turn, members=members, restrictions=[_restriction(r, where) for r in objects(layer, "restrictions", where)],
        wall_clock=turn % timedelta(days=1) == timedelta(0))


def _restriction(r: JsonObj, where: str) -> Restriction:
    raw = text(r, "start_time_of_day", where)
    try:
        start = time.fromisoformat(raw.removesuffix("Z"))
    except ValueError:
        raise ImportFailed(f"{where}: restriction start_time_of_day {raw!r} is not HH:MM:SS") from None
    length = timedelta(seconds=integer(r, "duration_seconds", where))
    if text(r, "type", where) == "weekly_restriction":
        return Restriction(start, length, weekday=integer(r, "start_day_of_week", where) - 1)
    return Restriction(start, length)


_TARGET: dict[str, TargetKind] = {"schedule_reference": "schedule", "schedule": "schedule",
                                  "user_reference": "user", "user": "user"}


def _policy(p: JsonObj, export: Export) -> ImportedPolicy:
    where = f"escalation policy {p.get('name')!r}"
    steps = []
    at = timedelta(0)
    for rule in objects(p, "escalation_rules", where):
        targets = [ImportedTarget(_TARGET.get(text(t, "type", where), "other"), text(t, "id", where),
                                  text(t, "summary", where, default=text(t, "id", where)))
                   for t in objects(rule, "targets", where)]
        steps.append(ImportedStep(at, targets))
        at += timedelta(minutes=integer(rule, "escalation_delay_in_minutes", where))
    return ImportedPolicy(vendor_id=text(p, "id", where), name=text(p, "name", where), steps=steps,
                          repeats=integer(p, "num_loops", where, default=0),
                          team_ids=[text(t, "id", where) for t in objects(p, "teams", where)])


_INTEGRATION_TYPES = {
    "events_api_v2_inbound_integration": "pagerduty",
    "generic_events_api_inbound_integration": "pagerduty",
    "generic_email_inbound_integration": None,
}


def _integrations(service: JsonObj, export: Export) -> list[ImportedIntegration]:
    where = f"service {service.get('name')!r}"
    name = text(service, "name", where)
    policy = sub(service, "escalation_policy", where)
    out = []
    for i in objects(service, "integrations", where):
        kind = text(i, "type", where).removesuffix("_reference")
        label = text(i, "summary", where, default=text(i, "name", where, default=kind))
        out.append(ImportedIntegration(vendor_id=text(i, "id", where), name=label, kind=kind,
                                       policy_id=text(policy, "id", where),
                                       watchstander_type=_INTEGRATION_TYPES.get(kind, "pagerduty"), service=name))
    if not out:
        export.unmapped.append(Unmapped("service", name, "has no integrations, so nothing sends alerts to it"))
    return out
