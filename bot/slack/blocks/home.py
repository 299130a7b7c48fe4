"""The App Home tab: who is on call, your next shift, what is open on your plate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock, PlainTextObject
from slack_sdk.models.views import View

from bot.config import Team
from bot.oncall.open_items import OpenItem
from bot.oncall.report_text import calendar_url, status_lines, team_title, when
from bot.oncall.shifts import Origin, Shift
from bot.oncall.who import TeamStatus
from bot.slack.blocks.oncall import SLACK_STYLE, context, open_items_lines, section, sections

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab


@dataclass(frozen=True)
class HomeContent:
    viewer: str
    statuses: Sequence[TeamStatus]
    next_shift: tuple[Team, Shift] | None
    items: Sequence[OpenItem]
    zone: tzinfo
    now: datetime
    base_url: str


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=text, emoji=True))


def _next_shift_text(content: HomeContent) -> str:
    if content.next_shift is None:
        return "You have no shift in the next 12 weeks."
    team, shift = content.next_shift
    how = " (override)" if shift.source is Origin.OVERRIDE else ""
    until = when(shift.end, content.zone, now=content.now)
    if shift.start <= content.now:
        return f"You're *{shift.role.value}* on call for *{team.name}* now, until {until}{how}."
    return (f"You're *{shift.role.value}* for *{team.name}* from {when(shift.start, content.zone, now=content.now)} "
            f"until {until}{how}.")


def home_view(content: HomeContent) -> View:
    blocks: list[Block] = [_header("📟 On call now")]
    for status in content.statuses:
        blocks.append(section("\n".join([team_title(status.team, SLACK_STYLE),
                                         *status_lines(status, SLACK_STYLE, content.zone, content.now)])))
        if url := calendar_url(content.base_url, status.team):
            blocks.append(context(f"📅 <{url}|Subscribe to the {status.team.name} calendar>"))
    if not content.statuses:
        blocks.append(section("No teams are configured yet."))
    blocks += [DividerBlock(), _header("🗓️ Your next shift"), section(_next_shift_text(content)), DividerBlock()]
    alerts = [i for i in content.items if i.kind == "alert"]
    others = [i for i in content.items if i.kind != "alert"]
    blocks.append(_header("🚨 Your open alerts"))
    if alerts:
        blocks += sections(open_items_lines(alerts, zone=content.zone, now=content.now)[1:], max_blocks=20)
    else:
        blocks.append(section("Nothing open for you or the teams you're on call for."))
    if others:
        blocks += [DividerBlock(), *sections(open_items_lines(others, zone=content.zone, now=content.now),
                                             max_blocks=20)]
    blocks.append(context(f"Updated {when(content.now, content.zone)} · times in your Slack time zone · "
                          "`/oncall help` for commands"))
    return View(type="home", blocks=blocks[:MAX_HOME_BLOCKS])
