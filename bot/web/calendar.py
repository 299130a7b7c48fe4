"""``GET /oncall/<team>.ics?token=…``: a team's shifts for calendar apps.

Calendar apps cannot send headers, so the team's ``calendar_token`` comes in the query string;
it is compared in constant time and never logged. The feed covers the past week (so the
shift in progress and the one just ended stay visible) and eight weeks ahead, overrides applied.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.oncall.ical_export import export_calendar
from bot.oncall.report_text import calendar_url
from bot.oncall.who import shifts
from bot.web.keys import SERVICES
from bot.web.tokens import same_token

PAST = timedelta(weeks=1)
AHEAD = timedelta(weeks=8)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def team_calendar(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    name = request.match_info["team"]
    team = svc.config.team(name)
    if team is None:
        return _error(404, f"no team named {name!r}")
    if not team.calendar_token:
        return _error(404, f"team {name!r} has no calendar; set calendar_token on it in the config")
    given = request.query.get("token", "")
    if not given:
        return _error(401, "this calendar needs ?token=<the team's calendar_token>")
    if not same_token(given, team.calendar_token):
        return _error(401, "wrong calendar token")
    if problem := svc.schedules.problems.get(team.name):
        return _error(503, f"the {team.name} schedule cannot be read: {problem}")
    now = svc.clock.now()
    async with svc.sessions() as s:
        found = await shifts(s, svc.schedules, team.name, now - PAST, now + AHEAD)
    body = export_calendar(team.name, found, people_names=svc.names, now=now,
                           calendar_url=calendar_url(svc.settings.base_public_url, team))
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={"Cache-Control": "private, max-age=300",
                                 "Content-Disposition": f'inline; filename="{team.name}-oncall.ics"'})


def add_routes(app: web.Application) -> None:
    app.router.add_get(r"/oncall/{team}.ics", team_calendar)
