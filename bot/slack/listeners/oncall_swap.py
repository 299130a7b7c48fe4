"""``/oncall swap [TEAM] @person DAY`` and the Accept / Decline buttons of the request DM.

The subcommand stores the request and queues the DM to the person asked in one transaction
(:mod:`bot.oncall.swaps` says which two shifts); a click answers it, and in the transaction of the
answer queues the asker's DM and, on accept, the team channel's announcement and the sync of the
team's user group. The request DM is then replaced by what came of it, so its buttons are gone;
a click on an old copy is told the request was already answered.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import record_id, transaction
from bot.oncall import overrides as ov
from bot.oncall.handle import sync_handle
from bot.oncall.models import SwapStatus
from bot.oncall.swaps import SwapAnswer, answer_swap, propose_swap
from bot.oncall.timeparse import SpanError, parse_day
from bot.oncall.who import team_zone
from bot.outbox import OutboxKind, enqueue
from bot.slack.blocks.swap import swap_announcement, swap_asked, swap_outcome, swap_request, swap_told_asker
from bot.slack.client import answer
from bot.slack.commands import Reply, SlashContext, refuse
from bot.slack.deps import SlackDeps, deps
from bot.slack.ids import SwapAction
from bot.slack.listeners.shapes import BlockActions, read
from bot.slack.mentions import looks_like_person, person_id

log = logging.getLogger(__name__)
USAGE = "e.g. `/oncall swap @bob mon 7 dec` (your shift that day for Bob's nearest one)"


async def swap(d: SlackDeps, ctx: SlashContext) -> Reply:
    """``/oncall swap [TEAM] @person DAY``."""
    words = ctx.text.split()
    team_name = None
    if words and not looks_like_person(words[0]) and d.config.team(words[0].lower()) is not None:
        team_name = words.pop(0)
    if not words or not looks_like_person(words[0]):
        return refuse(f"say who to swap with, {USAGE}")
    other = person_id(words[0], d.config)
    if other is None:
        return refuse(f"{words[0]} is not listed under people in the config, so they cannot take a shift; pick "
                      "someone from Slack's @-autocomplete, or ask an admin to add them")
    if len(words) < 2:
        return refuse(f"say which day of yours to swap, {USAGE}")
    now = d.clock.now()
    try:
        team = ov.choose_team(d.schedules, named=team_name, people=[ctx.user_id, other], now=now,
                              example="`/oncall swap platform @bob mon 7 dec`")
        day = parse_day(" ".join(words[1:]), now=now, zone=team_zone(d.config, team))
        zone = await d.zones.zone(other)
        async with transaction(d.sessions) as s:
            row, team = await propose_swap(s, d.schedules, asker=ctx.user_id, other=other, day=day,
                                           team_name=team.name, now=now)
            await enqueue(s, key=f"shift-swap:{row.id}:ask", kind=OutboxKind.DM, now=now,
                          payload=swap_request(row, zone=zone, now=now).dm(user=other, what="swap"))
    except ov.OverrideError as exc:
        return refuse(str(exc))
    except SpanError as exc:
        return refuse(f"cannot read the day: {exc}")
    d.wake()
    return Reply(text=swap_asked(row, zone=await d.zones.zone(ctx.user_id), now=now).text)


async def on_swap_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                         context: AsyncBoltContext) -> None:
    await ack()
    if (click := await read(BlockActions, body, "swap button", respond)) is None:
        return
    d = deps(context)
    swap_id = record_id(click.action.value or "")
    if swap_id is None:
        await answer(respond, "That button does not name a swap request; it may come from an old message.")
        return
    now = d.clock.now()
    zone = await d.zones.zone(click.user.id)
    try:
        async with transaction(d.sessions) as s:
            result = await answer_swap(s, d.schedules, swap_id=swap_id, actor=click.user.id,
                                       accept=click.action.action_id == SwapAction.ACCEPT, now=now)
            await _tell(d, s, result)
    except ov.OverrideError as exc:
        await answer(respond, f"⚠️ {exc}")
        return
    d.wake()
    outcome = swap_outcome(result.row, zone=zone, now=now)
    await respond(text=outcome.text, blocks=[b.to_dict() for b in outcome.blocks], replace_original=True)


async def _tell(d: SlackDeps, session: AsyncSession, result: SwapAnswer) -> None:
    """The asker's DM; on accept, the channel's announcement and the user group's sync too."""
    row, team, now = result.row, result.team, d.clock.now()
    key = f"shift-swap:{row.id}:{row.status}"
    told = swap_told_asker(row, zone=d.zones.known(row.asker), now=now)
    await enqueue(session, key=f"{key}:asker", kind=OutboxKind.DM, now=now, payload=told.dm(user=row.asker, what="swap"))
    if row.status == SwapStatus.ACCEPTED:
        post = swap_announcement(row, zone=team_zone(d.config, team), now=now)
        await enqueue(session, key=f"{key}:channel", kind=OutboxKind.CHANNEL_POST, now=now,
                      payload=post.post(channel=team.channel, what="swap"))
        await sync_handle(session, team, why=f"swap:{row.id}", now=now)
