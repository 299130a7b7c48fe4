"""Block Kit for shift swaps (``/oncall swap``): the request DM with Accept / Decline, what it became
after the click, the team channel's announcement and the asker's answer. Pure functions of the
stored :class:`~bot.oncall.models.ShiftSwapRow`."""

from __future__ import annotations

from datetime import datetime, tzinfo

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.oncall.models import ShiftSwapRow, SwapStatus
from bot.oncall.report_text import span_text, when
from bot.slack.blocks.oncall import Rendered, context, section
from bot.slack.ids import SwapAction

RULE = ("Their shift is theirs on the day they named; yours is your shift of the same team nearest to it "
        "that has not begun yet.")


def _spans(row: ShiftSwapRow, zone: tzinfo, now: datetime) -> tuple[str, str]:
    return (span_text(row.asker_start, row.asker_end, zone, now=now),
            span_text(row.other_start, row.other_end, zone, now=now))


def swap_request(row: ShiftSwapRow, *, zone: tzinfo, now: datetime) -> Rendered:
    """The DM to the person asked, in their zone: exactly which two shifts, and the buttons."""
    theirs, yours = _spans(row, zone, now)
    text = (f"🔄 <@{row.asker}> asks to swap {row.team} shifts with you:\n"
            f"• you take their shift *{theirs}*\n• they take yours *{yours}*")
    deadline = when(min(row.asker_start, row.other_start), zone, now=now)
    value = str(row.id)
    return Rendered(text=text, blocks=[
        section(text),
        context(f"{RULE} Answer before {deadline}; accepting swaps both as overrides and tells the channel."),
        ActionsBlock(block_id=f"swap:{row.id}", elements=[
            ButtonElement(text="Accept", action_id=SwapAction.ACCEPT, value=value, style="primary"),
            ButtonElement(text="Decline", action_id=SwapAction.DECLINE, value=value),
        ]),
    ])


def swap_asked(row: ShiftSwapRow, *, zone: tzinfo, now: datetime) -> Rendered:
    """The asker's ephemeral answer: what was asked, in their zone."""
    mine, theirs = _spans(row, zone, now)
    text = (f"✅ Asked <@{row.other}> in a DM to swap {row.team} shifts (swap #{row.id}):\n"
            f"• they take your shift *{mine}*\n• you take theirs *{theirs}*\nYou will hear when they answer.")
    return Rendered(text=text, blocks=[section(text)])


def swap_outcome(row: ShiftSwapRow, *, zone: tzinfo, now: datetime) -> Rendered:
    """What the request DM says once answered (its buttons gone)."""
    theirs, yours = _spans(row, zone, now)
    match row.status:
        case SwapStatus.ACCEPTED:
            text = (f"✅ You swapped {row.team} shifts with <@{row.asker}>: you are on call *{theirs}*, "
                    f"they are on call *{yours}*.")
        case SwapStatus.DECLINED:
            text = f"❌ You declined <@{row.asker}>'s swap ({theirs} for your {yours}); they have been told."
        case SwapStatus.EXPIRED | SwapStatus.PENDING:
            text = (f"⌛ This swap request from <@{row.asker}> has expired: one of the shifts ({theirs} or {yours}) "
                    "has begun. Nothing was changed.")
    return Rendered(text=text, blocks=[section(text)])


def swap_told_asker(row: ShiftSwapRow, *, zone: tzinfo, now: datetime) -> Rendered:
    """The asker's DM once the other has answered."""
    mine, theirs = _spans(row, zone, now)
    if row.status == SwapStatus.ACCEPTED:
        text = (f"✅ <@{row.other}> accepted your swap: they are on call *{mine}*, you are on call *{theirs}* "
                f"(overrides #{row.other_override_id} and #{row.asker_override_id}).")
    elif row.status == SwapStatus.DECLINED:
        text = f"❌ <@{row.other}> declined your swap of *{mine}* for *{theirs}*. Nothing changed."
    else:
        text = f"⌛ Your swap request to <@{row.other}> expired before they answered. Nothing changed."
    return Rendered(text=text, blocks=[section(text)])


def swap_announcement(row: ShiftSwapRow, *, zone: tzinfo, now: datetime) -> Rendered:
    """For the team channel: who holds the pager when, after the swap."""
    first, second = _spans(row, zone, now)
    text = (f"🔄 <@{row.asker}> and <@{row.other}> swapped {row.team} shifts: <@{row.other}> is on call "
            f"{first}, <@{row.asker}> is on call {second}")
    return Rendered(text=text, blocks=[section(text), context(
        f"Shift swap #{row.id} · overrides #{row.other_override_id} and #{row.asker_override_id} · "
        f"`/oncall overrides {row.team}`")])
