"""The `/oncall` subcommands about the schedule: status (bare `/oncall` or `/oncall TEAM`), schedule,
overrides, help, override, take and cancel. Each parses its words, calls one domain function,
renders a reply; :mod:`bot.slack.listeners.oncall` lists them.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import transaction
from bot.oncall import overrides as ov
from bot.oncall.handle import sync_handle
from bot.oncall.models import OverrideRow
from bot.oncall.report_text import span_text
from bot.oncall.timeparse import WEEKDAYS, SpanError, SpanSyntaxError, parse_span
from bot.oncall.who import all_statuses, rotation_members, shifts, team_status, team_zone
from bot.outbox import OutboxKind, enqueue
from bot.slack.blocks.oncall import (
    Rendered,
    help_message,
    override_announcement,
    override_dms,
    overrides_message,
    schedule_message,
    status_message,
)
from bot.slack.commands import Reply, SlashContext, refuse
from bot.slack.deps import SlackDeps
from bot.slack.mentions import looks_like_person, person_id

DEFAULT_WEEKS, MAX_WEEKS = 2, 12
_WEEKS = re.compile(r"^(\d{1,3})(?:w|wk|wks|week|weeks)?$")
_WEEK_WORDS = {"w", "wk", "wks", "week", "weeks"}
# Words that belong to a time, not to a reason ("until 18:00 friday", "for 2h 30m").
_TIMEISH = re.compile(rf"^(?:{'|'.join(WEEKDAYS)}|today|tomorrow|tonight|noon|midnight|am|pm|"
                      r"\d{4}-\d{2}-\d{2}|\d{1,2}(?::\d{2})?(?:am|pm)?|\d+[smhdw]\w*)$", re.IGNORECASE)


def reply_of(rendered: Rendered) -> Reply:
    return Reply(text=rendered.text, blocks=list(rendered.blocks) or None)


def split_span_and_reason(text: str, *, now: datetime, zone: tzinfo) -> tuple[tuple[datetime, datetime], str]:
    """The longest leading run of words that reads as a span; the rest is the reason.

    "until fri 18:00 dentist" is the span "until fri 18:00" and the reason "dentist". When no
    prefix reads, a problem with what was meant (in the past, too long) beats "cannot read".
    """
    words = text.split()
    meaningful: SpanError | None = None
    for n in range(len(words), 0, -1):
        try:
            span = parse_span(" ".join(words[:n]), now=now, zone=zone)
        except SpanSyntaxError:
            continue
        except SpanError as exc:
            meaningful = meaningful or exc
            continue
        reason = words[n:]
        if reason and _TIMEISH.match(reason[0]):
            # "until 18:00 friday" would otherwise silently mean today 18:00 with reason "friday".
            raise SpanSyntaxError(f"cannot tell what {' '.join(words)!r} means; put the day before the time, "
                                  "e.g. 'until fri 18:00' or 'until tomorrow 09:00'")
        return span, " ".join(reason)
    if meaningful is not None:
        raise meaningful
    parse_span(text, now=now, zone=zone)  # raises the syntax error for the whole text
    raise AssertionError("unreachable")  # pragma: no cover


# --- reading ---------------------------------------------------------------------------


async def status(d: SlackDeps, ctx: SlashContext) -> Reply:
    """Bare ``/oncall`` (every team) or ``/oncall TEAM``."""
    now = d.clock.now()
    words = ctx.text.split()
    if words and d.config.team(words[0].lower()) is None:
        return refuse(f"there is no subcommand or team called {words[0]!r}. Teams: {ov.team_names(d.config)}; "
                      "`/oncall help` lists the subcommands")
    if len(words) > 1:
        return refuse(f"`/oncall {words[0]}` takes nothing more; for weeks ahead use "
                      f"`/oncall schedule {words[0]} 4`")
    zone = await d.zones.zone(ctx.user_id)
    async with d.sessions() as s:
        if words:
            team = ov.named_team(d.config, words[0])
            statuses = [await team_status(s, d.schedules, team, now)]
        else:
            statuses = await all_statuses(s, d.schedules, now)
    return reply_of(status_message(statuses, zone=zone, now=now, base_url=d.base_url))


async def schedule(d: SlackDeps, ctx: SlashContext) -> Reply:
    now = d.clock.now()
    team_name, weeks = None, DEFAULT_WEEKS
    for word in ctx.text.lower().split():
        if d.config.team(word) is not None:
            team_name = word
        elif m := _WEEKS.match(word):
            weeks = int(m.group(1))
        elif word not in _WEEK_WORDS:
            return refuse(f"cannot read {word!r}: use `/oncall schedule [TEAM] [N weeks]`, e.g. "
                          f"`/oncall schedule platform 4`. Teams: {ov.team_names(d.config)}")
    if not 1 <= weeks <= MAX_WEEKS:
        return refuse(f"show between 1 and {MAX_WEEKS} weeks, e.g. `/oncall schedule 4`")
    try:
        team = ov.choose_team(d.schedules, named=team_name, people=[ctx.user_id], now=now,
                              example="`/oncall schedule platform`")
    except ov.OverrideError as exc:
        return refuse(str(exc))
    if problem := d.schedules.problems.get(team.name):
        return refuse(f"the {team.name} schedule cannot be read: {problem}")
    if d.schedules.source(team.name) is None:
        return refuse(f"{team.name} has no schedule configured; add `schedule:` to it in the config")
    zone = await d.zones.zone(ctx.user_id)
    async with d.sessions() as s:
        found = await shifts(s, d.schedules, team.name, now, now + timedelta(weeks=weeks))
    return reply_of(schedule_message(team, found, weeks=weeks, zone=zone, now=now))


async def overrides(d: SlackDeps, ctx: SlashContext) -> Reply:
    now = d.clock.now()
    words = ctx.text.split()
    try:
        teams = [ov.named_team(d.config, w) for w in words]
    except ov.OverrideError as exc:
        return refuse(str(exc))
    zone = await d.zones.zone(ctx.user_id)
    async with d.sessions() as s:
        rows = await ov.upcoming_overrides(s, teams=[t.name for t in teams] or None, now=now)
    label = ", ".join(t.name for t in teams) or "all teams"
    return reply_of(overrides_message(rows, zone=zone, now=now, teams=label))


async def help_(d: SlackDeps, ctx: SlashContext) -> Reply:
    return reply_of(help_message())


# --- changing --------------------------------------------------------------------------


async def override(d: SlackDeps, ctx: SlashContext) -> Reply:
    """``/oncall override [TEAM] @person SPAN [reason]``."""
    usage = "e.g. `/oncall override @bob 4h` or `/oncall override platform @bob until fri 18:00 dentist`"
    words = ctx.text.split()
    team_name = None
    if words and not looks_like_person(words[0]) and d.config.team(words[0].lower()) is not None:
        team_name = words.pop(0)
    if not words or not looks_like_person(words[0]):
        return refuse(f"say who goes on call, {usage}")
    person = person_id(words[0], d.config)
    if person is None:
        return refuse(f"{words[0]} is not listed under people in the config, so the bot could not page them; "
                      "pick someone from Slack's @-autocomplete, or ask an admin to add them")
    words.pop(0)
    return await _place(d, ctx, person=person, team_name=team_name, rest=" ".join(words), usage=usage,
                        example="`/oncall override platform @bob 4h`")


async def take(d: SlackDeps, ctx: SlashContext) -> Reply:
    """``/oncall take [TEAM] SPAN [reason]``: the caller goes on call."""
    words = ctx.text.split()
    team_name = None
    if words and d.config.team(words[0].lower()) is not None:
        team_name = words.pop(0)
    return await _place(d, ctx, person=ctx.user_id, team_name=team_name, rest=" ".join(words),
                        usage="e.g. `/oncall take 2h` or `/oncall take platform until 18:00`",
                        example="`/oncall take platform 2h`")


async def _place(d: SlackDeps, ctx: SlashContext, *, person: str, team_name: str | None, rest: str,
                 usage: str, example: str) -> Reply:
    now = d.clock.now()
    if not rest.strip():
        return refuse(f"say for how long or until when, {usage}")
    zone = await d.zones.zone(ctx.user_id)
    try:
        ov.require_person(d.config, person)
        (start, end), reason = split_span_and_reason(rest, now=now, zone=zone)
    except ov.OverrideError as exc:
        return refuse(str(exc))
    except SpanError as exc:
        return refuse(f"cannot set that override: {exc}")
    try:
        team = ov.choose_team(d.schedules, named=team_name, people=[person, ctx.user_id], now=now,
                              example=example)
        await _learn_zones(d, {person, *rotation_members(d.schedules, team, now)})
        async with transaction(d.sessions) as s:
            change = await ov.add_override(s, d.schedules, team=team, person=person, start=start, end=end,
                                           actor=ctx.user_id, reason=reason, now=now)
            await _announce(d, s, change, actor=ctx.user_id, now=now, event="created")
    except ov.OverrideError as exc:
        return refuse(str(exc))
    d.wake()
    instead = list(dict.fromkeys(s.person for s in change.displaced))
    instead_text = f", instead of {' and '.join(f'<@{p}>' for p in instead)}" if instead else ""
    return Reply(text=f"✅ <@{person}> is on call for {team.name}: {span_text(start, end, zone, now=now)}"
                      f"{instead_text} (override #{change.row.id}). Announced in #{team.channel.lstrip('#')}; "
                      f"undo with `/oncall cancel {change.row.id}`.")


async def cancel(d: SlackDeps, ctx: SlashContext) -> Reply:
    m = re.fullmatch(r"#?(\d{1,9})", ctx.text.strip())
    if not m:
        return refuse("say which override, e.g. `/oncall cancel 12`; `/oncall overrides` lists them with IDs")
    now = d.clock.now()
    try:
        await _learn_zones(d, await _people_of_override(d, int(m.group(1)), now))
        async with transaction(d.sessions) as s:
            change = await ov.cancel_override(s, d.schedules, override_id=int(m.group(1)), actor=ctx.user_id,
                                              now=now)
            await _announce(d, s, change, actor=ctx.user_id, now=now, event="cancelled")
    except ov.OverrideError as exc:
        return refuse(str(exc))
    d.wake()
    verb = "Ended" if change.ended_early else "Cancelled"
    return Reply(text=f"✅ {verb} override #{change.row.id} (<@{change.row.person}> for {change.team.name}). "
                      f"Announced in #{change.team.channel.lstrip('#')}.")


async def _learn_zones(d: SlackDeps, people: set[str]) -> None:
    """Ask Slack for the zones of whoever may get a DM, before the transaction that enqueues the
    DMs (no network call inside a transaction); answers are cached, so this is usually free."""
    await asyncio.gather(*(d.zones.zone(p) for p in sorted(people)))


async def _people_of_override(d: SlackDeps, override_id: int, now: datetime) -> set[str]:
    async with d.sessions() as s:
        row = await s.get(OverrideRow, override_id)
    team = d.config.team(row.team) if row is not None else None
    if row is None or team is None:
        return set()
    return {row.person, *rotation_members(d.schedules, team, now)}


async def _announce(d: SlackDeps, session: AsyncSession, change: ov.OverrideChange, *, actor: str, now: datetime,
                    event: str) -> None:
    """Channel post and DMs, and the sync of the team's user group, enqueued in the transaction that made the change."""
    team = change.team
    key = f"oncall-override:{change.row.id}:{event}"
    await sync_handle(session, team, why=f"override:{change.row.id}:{event}", now=now)
    post = override_announcement(change, actor=actor, zone=team_zone(d.config, team), now=now)
    await enqueue(session, key=f"{key}:channel", kind=OutboxKind.CHANNEL_POST, now=now,
                  payload=post.post(channel=team.channel, what="override"))
    for person, dm in override_dms(change, actor=actor, zone_of=d.zones.known, now=now).items():
        await enqueue(session, key=f"{key}:dm:{person}", kind=OutboxKind.DM, now=now,
                      payload=dm.dm(user=person, what="override"))
