"""The storm message: many new alerts in one channel at once, summarised in one message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.alerts.incoming import AlertStatus
from bot.durations import format_duration
from bot.severity import Severity
from bot.slack.blocks.alert import SEVERITY_MARK
from bot.slack.blocks.common import clip, escape, slack_date
from bot.slack.ids import METADATA_STORM, AlertAction, Metadata

SEVERITIES = tuple(Severity)


@dataclass(frozen=True)
class StormSummary:
    storm_id: int
    channel: str
    started_at: datetime
    last_added_at: datetime
    ended_at: datetime | None
    groups: int
    by_severity: dict[str, int]  # alerts, not groups: an Alertmanager group may hold many
    by_status: dict[str, int]
    top_titles: list[tuple[str, int]]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def storm_metadata(storm_id: int) -> Metadata:
    return {"event_type": METADATA_STORM, "event_payload": {"storm_id": storm_id}}


def storm_text(s: StormSummary) -> str:
    if s.ended_at:
        return (f"🌤️ Storm over: {_count(s.total, 'alert')} in {_count(s.groups, 'group')} over "
                f"{format_duration(s.last_added_at - s.started_at)}")
    return f"⛈️ Alert storm: {_count(s.total, 'alert')} in #{s.channel}"


def storm_blocks(s: StormSummary, zone: ZoneInfo) -> list[Block]:
    severities = " · ".join(f"{SEVERITY_MARK[k]} {s.by_severity[k]:,} {k}" for k in SEVERITIES
                            if s.by_severity.get(k))
    states = " · ".join(f"{s.by_status.get(k, 0):,} {k}" for k in AlertStatus)
    since = slack_date(s.started_at, "{date_short_pretty} {time}", zone)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(storm_text(s), 150), emoji=True)),
        SectionBlock(text=MarkdownTextObject(
            text=f"*{_count(s.total, 'alert')}* in {_count(s.groups, 'group')} since {since}\n{severities}\n{states}")),
    ]
    if s.top_titles:
        lines = "\n".join(f"• {escape(clip(t, 120))} ×{n:,}" for t, n in s.top_titles)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Most frequent*\n{lines}")))
    if s.ended_at:
        note = (f"The storm ended {slack_date(s.ended_at, '{time}', zone)}; new alerts are posted one by one "
                "again.")
    else:
        note = ("Slack allows about one message per second in a channel, so new alerts here are summarised in "
                "this message instead of queued. Every alert is stored and escalates as usual.")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    if s.by_status.get(AlertStatus.FIRING):
        blocks.append(ActionsBlock(block_id=f"storm_actions:{s.storm_id}", elements=[
            ButtonElement(text="Acknowledge all firing", action_id=AlertAction.STORM_ACK_ALL,
                          value=str(s.storm_id), style="primary"),
        ]))
    return blocks
