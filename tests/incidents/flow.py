"""Steps of the incident flow as a person takes them in Slack, for the incident tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.incidents.models import Incident, TimelineEntry
from bot.sandbox.slack import SandboxChannel, SandboxEphemeral, SandboxMessage, SandboxUpload, SandboxView
from bot.slack.ids import Callback, Command, IncidentField
from tests.support.factories import BOB
from tests.support.harness import Harness

CHANNEL = "inc-2026-11-24-checkout-failing"


async def incident(h: Harness, command: str, *, user: str, channel: str = CHANNEL) -> None:
    """``/incident <command>`` typed by ``user`` in ``channel``."""
    response = await h.driver.slash(Command.INCIDENT, command, user_id=user, channel_id=h.slack.channel_id(channel))
    assert response.status == 200, response.text


async def ephemeral(h: Harness, user: str, contains: str) -> SandboxEphemeral:
    """The first message only ``user`` sees that contains ``contains`` (waits for it)."""
    return await h.slack.wait_for(lambda: next((e for e in h.slack.ephemerals(user) if contains in e.text
                                                or contains in str(e.blocks)), None))


async def posted(h: Harness, contains: str, *, channel: str = CHANNEL) -> SandboxMessage:
    return await h.slack.wait_for_message(channel, contains=contains)


async def open_modal(h: Harness, user: str, callback_id: str) -> SandboxView:
    return await h.slack.wait_for(lambda: next((v for v in reversed(h.slack.open_views(user))
                                                if v.callback_id == callback_id), None))


async def declare(h: Harness, title: str = "Checkout failing", *, user: str = BOB, channel: str = "platform-alerts",
                  severity: str = "SEV1", **values: Any) -> SandboxChannel:
    """``/incident declare <title>``, fill in the modal, submit; returns the incident channel once set up."""
    await incident(h, f"declare {title}", user=user, channel=channel)
    view = await open_modal(h, user, Callback.DECLARE_MODAL)
    await submit_declare(h, view, user=user, severity=severity, **values)
    return await set_up(h, user)


async def submit_declare(h: Harness, view: SandboxView, *, user: str, severity: str = "SEV1", **values: Any) -> None:
    fields = {IncidentField.SEVERITY: severity, **{IncidentField(f"incident_{k}"): v for k, v in values.items()}}
    response = await h.driver.submit_view(view, fields, user_id=user)
    assert response.status == 200, response.text


async def set_up(h: Harness, user: str) -> SandboxChannel:
    """Wait for the declarer to be told the channel is ready; returns that channel."""
    told = await ephemeral(h, user, "is declared")
    await h.drain()
    channel_id = told.text.split("<#", 1)[1].split(">", 1)[0]
    return h.slack.channel(channel_id)


async def stored(h: Harness) -> list[Incident]:
    async with h.bot.services.sessions() as s:
        return list(await s.scalars(select(Incident).order_by(Incident.id)))


async def entry_count(h: Harness) -> int:
    async with h.bot.services.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(TimelineEntry)) or 0)


async def uploaded(h: Harness, count: int = 1) -> SandboxUpload:
    """The ``count``-th file the bot has finished uploading (waits for it)."""
    def done() -> SandboxUpload | None:
        finished = [u for u in h.slack.uploads if u.completed]
        return finished[count - 1] if len(finished) >= count else None
    return await h.slack.wait_for(done)
