"""Driving `/oncall` and reading what came of it, as a person in Slack would."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.oncall.models import OverrideRow
from bot.sandbox.slack import SandboxMessage
from tests.support.harness import Harness
from tests.support.visible import visible_text


async def oncall(h: Harness, text: str = "", *, user: str, channel: str = "platform-alerts") -> str:
    """Run `/oncall text` as ``user``; the visible text of the one ephemeral answer.

    How fast it comes is measured in bench/, not here: a timed assertion fails on a loaded CI machine.
    """
    before = len(h.slack.ephemerals(user))
    resp = await h.driver.slash("/oncall", text, user_id=user, channel_id=h.slack.channel_id(channel))
    assert resp.status == 200, resp.text
    new = await h.slack.wait_for(lambda: h.slack.ephemerals(user)[before:] or None)
    assert len(new) == 1, [e.text for e in new]
    return visible_text(new[0])


def channel_texts(h: Harness, channel: str = "platform-alerts") -> list[str]:
    return [visible_text(m) for m in h.slack.messages(channel)]


def dm_texts(h: Harness, user: str) -> list[str]:
    return [visible_text(m) for m in h.slack.dms(user)]


def messages_with(h: Harness, channel: str, needle: str) -> list[SandboxMessage]:
    return [m for m in h.slack.messages(channel) if needle in visible_text(m)]


async def stored_overrides(h: Harness) -> list[OverrideRow]:
    async with h.bot.services.sessions() as s:
        return list(await s.scalars(select(OverrideRow).order_by(OverrideRow.id)))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)
