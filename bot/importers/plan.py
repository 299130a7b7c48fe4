"""The ``--plan`` text: what will be created and from what, and everything that will not be."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from bot.importers.mapping import Mapped


def mask_phone(phone: str) -> str:
    """``+4915112345678`` → ``+•••••••••••78``: enough to recognise, not enough to dial."""
    return "+" + "•" * max(0, len(phone) - 3) + phone[-2:]


def plan_text(m: Mapped) -> str:
    return "\n".join(_lines(m)) + "\n"


def _lines(m: Mapped) -> Iterator[str]:
    e = m.export
    yield f"Import from {e.vendor}: {len(e.people)} people, {len(e.teams)} teams, {len(e.schedules)} schedules, " \
          f"{len(e.overrides)} overrides, {len(e.policies)} escalation policies, {len(e.integrations)} integrations"
    yield from _people(m)
    yield from _teams(m)
    yield from _rest(m)


def _people(m: Mapped) -> Iterator[str]:
    yield ""
    yield "People"
    for p in m.export.people:
        slack = p.slack_id or "NOT FOUND in Slack"
        parts = [f"{p.email or 'no e-mail'} → {slack}", p.timezone or "no time zone"]
        if p.phone:
            parts.append(f"phone {mask_phone(p.phone)}")
        if p.rules:
            parts.append("notify " + ", ".join(f"{r.via} +{int(r.after.total_seconds() // 60)}m"
                                               + (f" ({r.note})" if r.note else "") for r in p.rules))
        yield f"  {p.name}: " + "; ".join(parts)


def _teams(m: Mapped) -> Iterator[str]:
    yield ""
    yield "Teams (one per escalation policy)"
    for t in m.teams:
        yield f"  {t.name}  ← policy {t.policy!r}" + (f", schedule {t.schedule.name!r}" if t.schedule else "")
        yield f"    schedule: {t.how}"
        if t.schedule is not None:
            for layer in t.schedule.layers:
                yield (f"    layer {layer.name!r}: {len(layer.members)} people, turns of "
                       f"{layer.turn.total_seconds() / 3600:g}h from {layer.virtual_start.isoformat()}"
                       + (f", {len(layer.restrictions)} restriction(s)" if layer.restrictions else ""))
        for step in t.steps:
            yield f"    escalation {step}"


def _rest(m: Mapped) -> Iterator[str]:
    yield ""
    yield f"Overrides to load into the database ({len(m.overrides)}, current and future)"
    names = {p.slack_id: p.name for p in m.export.people if p.slack_id}
    for o in m.overrides:
        yield f"  {o.team}: {names.get(o.person, o.person)} ({o.person}) {o.start.isoformat()} → {o.end.isoformat()}"
    yield ""
    yield "Integrations (point each sender at its new webhook)"
    for label, name, where in m.integrations:
        yield f"  {label} → integration {name}: {where}"
    yield ""
    yield f"Routing rules ({len(m.routes)})"
    for rule, team, match in m.routes:
        yield f"  {rule!r} → route {match} → team {team}"
    yield ""
    yield f"Not carried over, or carried over differently ({len(m.unmapped)})"
    for u in m.unmapped:
        yield f"  {u.kind} {u.name!r}: {u.reason}"
    if m.env:
        yield ""
        yield "Environment variables the written config needs"
        for name, what in m.env.items():
            yield f"  {name}: {what}"
    if m.calendars:
        yield ""
        yield "Calendar files written beside the config: " + ", ".join(sorted(m.calendars))


def config_yaml(m: Mapped) -> str:
    header = (f"# Written by watchstander import ({m.export.vendor}). Check it with: watchstander check-config\n"
              "# Channels are guesses (<team>-oncall): set each team's real channel before going live.\n")
    return header + yaml.safe_dump(m.config, sort_keys=False, allow_unicode=True, width=110)
