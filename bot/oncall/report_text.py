"""Words for on-call answers, shared by Slack (`/oncall`, App Home, handoffs) and the command line.

One set of sentences with a :class:`Style` for the medium: Slack shows people as mentions and
bold with asterisks, the terminal shows names. Every time carries its date and zone abbreviation
("Mon 30 Nov 09:00 CET"), because "09:00" alone means different things to a team spread over
Berlin and New York; the year appears only when it is not the current one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import quote

from bot.config import Team
from bot.oncall.shifts import Origin, Shift
from bot.oncall.who import TeamStatus


def when(at: datetime, zone: tzinfo, *, now: datetime | None = None) -> str:
    """``Mon 30 Nov 09:00 CET``; with the year when it differs from ``now``'s."""
    local = at.astimezone(zone)
    year = f" {local.year}" if now is not None and now.astimezone(zone).year != local.year else ""
    return f"{local:%a} {local.day} {local:%b}{year} {local:%H:%M %Z}"


def span_text(start: datetime, end: datetime, zone: tzinfo, *, now: datetime | None = None) -> str:
    return f"{when(start, zone, now=now)} → {when(end, zone, now=now)}"


@dataclass(frozen=True)
class Style:
    """How a medium shows a person and emphasis."""

    who: Callable[[str], str]
    bold: Callable[[str], str]


def plain_style(names: Mapping[str, str]) -> Style:
    return Style(who=lambda p: names.get(p, p), bold=lambda t: t)


def calendar_url(base_url: str, team: Team) -> str | None:
    """The subscribe link of ``GET /oncall/<team>.ics``, if the team has a calendar token."""
    if not team.calendar_token:
        return None
    return f"{base_url.rstrip('/')}/oncall/{quote(team.name)}.ics?token={quote(team.calendar_token, safe='')}"


def _origin(shift: Shift) -> str:
    return " (override)" if shift.source is Origin.OVERRIDE else ""


def status_lines(status: TeamStatus, style: Style, zone: tzinfo, now: datetime) -> list[str]:
    """Primary, backup and who is next, or why nobody is on call."""
    lines: list[str] = []
    if status.problem:
        lines.append(f"⚠️ Schedule unavailable: {status.problem}")
    primary, backup = status.primary, status.backup
    if primary is not None:
        lines.append(f"Primary: {style.who(primary.person)} until {when(primary.end, zone, now=now)}{_origin(primary)}")
    elif not status.has_schedule and not status.problem:
        lines.append("No schedule configured; nobody is on call.")
    else:
        lines.append("Nobody is on call right now.")
    if backup is not None:
        lines.append(f"Backup: {style.who(backup.person)} until {when(backup.end, zone, now=now)}")
    if status.next is not None:
        lines.append(f"Next: {style.who(status.next.person)} from {when(status.next.start, zone, now=now)}"
                     f"{_origin(status.next)}")
    return lines


def team_title(team: Team, style: Style) -> str:
    return f"{style.bold(team.name)} · #{team.channel.lstrip('#')}"


def status_report(statuses: Sequence[TeamStatus], *, names: Mapping[str, str], zone: tzinfo, now: datetime,
                  base_url: str | None = None) -> str:
    """The plain-text answer of ``watchstander oncall``: the same lines `/oncall` shows in Slack."""
    style = plain_style(names)
    out = [f"On call at {when(now, zone)}"]
    for status in statuses:
        out += ["", team_title(status.team, style)]
        out += [f"  {line}" for line in status_lines(status, style, zone, now)]
        url = calendar_url(base_url, status.team) if base_url else None
        if url:
            out.append(f"  Calendar: {url}")
    return "\n".join(out) + "\n"
