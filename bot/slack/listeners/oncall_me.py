"""``/oncall me`` (how the bot reaches you) and ``/oncall me test [slack|sms|call|email]``, also its buttons.

The test page is a test alert shown in the person's DM with the bot and paged at once on each
channel asked for (:mod:`bot.escalation.self_test`), by the same runner and senders as every page.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond

from bot.db import transaction
from bot.escalation import self_test
from bot.escalation.models import Via
from bot.escalation.sms_hygiene import opted_out
from bot.escalation.targets import CALLS_NOT_SET_UP, EMAIL_NOT_SET_UP, SMS_NOT_SET_UP
from bot.oncall.report_text import when
from bot.oncall.who import on_call
from bot.slack.blocks.me import ALL, MeView, me_view, test_sent
from bot.slack.client import answer
from bot.slack.commands import Reply, SlashContext, refuse
from bot.slack.deps import SlackDeps, deps
from bot.slack.listeners.shapes import BlockActions, read

log = logging.getLogger(__name__)
USAGE = "`/oncall me` shows how you are paged; `/oncall me test` (or `test sms`, `test call`…) sends you a test page"


async def _view(d: SlackDeps, user_id: str) -> MeView:
    person = d.config.person(user_id)
    zone = await d.zones.zone(user_id)
    now = d.clock.now()
    not_set_up = {via: why for via, on, why in ((Via.SMS, d.paging.sms_enabled, SMS_NOT_SET_UP),
                                                 (Via.CALL, d.paging.calls_enabled, CALLS_NOT_SET_UP),
                                                 (Via.EMAIL, d.paging.email_enabled, EMAIL_NOT_SET_UP)) if not on}
    roles = []
    async with d.sessions() as s:
        stopped = bool(person and person.phone and await opted_out(s, person.phone))
        for team in d.config.teams:
            now_on = await on_call(s, d.schedules, team.name, now)
            for role, shift in (("primary", now_on.primary), ("backup", now_on.backup)):
                if shift is not None and shift.person == user_id:
                    roles.append(f"{role} for {team.name} until {when(shift.end, zone, now=now)}")
    return MeView(user_id=user_id, person=person, zone=zone, reachable=self_test.channels_of(person),
                  not_set_up=not_set_up, stopped_sms=stopped, roles=roles, now=now)


def _asked(view: MeView, word: str) -> tuple[Via, ...] | str:
    """The channels a test asks for (``all`` or one), or why it cannot be sent."""
    testable = tuple(v for v in view.reachable if v not in view.not_set_up)
    if word in ("", ALL):
        return testable
    try:
        via = Via(word)
    except ValueError:
        return f"there is no channel {word!r}: say slack, sms, call or email ({USAGE})"
    if via in view.not_set_up:
        return view.not_set_up[via]
    if via not in view.reachable:
        return f"the config has no {'phone' if via in (Via.SMS, Via.CALL) else 'email'} for you, so {via} cannot reach you"
    return (via,)


async def _send(d: SlackDeps, user_id: str, word: str) -> str:
    view = await _view(d, user_id)
    vias = _asked(view, word)
    if isinstance(vias, str):
        return f"⚠️ No test page sent: {vias}."
    async with transaction(d.sessions) as s:
        fired = await self_test.fire(s, d.config, user_id, vias, d.clock.now())
    d.wake()
    log.info("test page #%s for %s on %s", fired.group_id, user_id, ", ".join(vias))
    return test_sent(fired.vias, fired.group_id)


async def me(d: SlackDeps, ctx: SlashContext) -> Reply:
    """``/oncall me`` and ``/oncall me test [CHANNEL]``."""
    word, _, rest = ctx.text.partition(" ")
    if word.lower() == "test":
        return Reply(text=await _send(d, ctx.user_id, rest.strip().lower()))
    if word:
        return refuse(f"`/oncall me` takes nothing or `test`: {USAGE}")
    rendered = me_view(await _view(d, ctx.user_id))
    return Reply(text=rendered.text, blocks=rendered.blocks)


async def on_test_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    if (click := await read(BlockActions, body, "test page button", respond)) is None:
        return
    await answer(respond, await _send(deps(context), click.user.id, (click.action.value or ALL).lower()))
