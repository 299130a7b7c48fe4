"""Block Kit for paging: the page DM, the ``@here`` call for help, the Escalate modal, silences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.alerts.models import AlertGroup, Silence
from bot.durations import format_duration
from bot.escalation.models import PageRecord
from bot.slack.blocks.alert import SEVERITY_MARK, AlertMessage, alert_blocks, fallback_text
from bot.slack.blocks.common import actor_text, clip, escape, slack_date
from bot.slack.ids import METADATA_PAGE, AlertAction, Callback, EscalateField, Metadata


def page_metadata(page_id: int) -> Metadata:
    return {"event_type": METADATA_PAGE, "event_payload": {"page_id": page_id}}


def _step(page: PageRecord) -> str:
    if page.step is None:
        return "asked for you by name" if not page.requested_by else f"<@{page.requested_by}> asked for you"
    return f"step {page.step}" + (f", round {page.round}" if page.round and page.round > 1 else "")


def page_dm(msg: AlertMessage, page: PageRecord) -> tuple[str, list[Block]]:
    """The DM to the person paged: why them, then the alert message itself with its buttons."""
    team = f" for *{escape(msg.group.team)}*" if msg.group.team else ""
    lead = SectionBlock(text=MarkdownTextObject(text=f"📟 *You are being paged*{team} ({_step(page)})."))
    return f"📟 Paged: {fallback_text(msg)}", [lead, *alert_blocks(msg)]


def channel_page(msg: AlertMessage, *, waited: timedelta, permalink: str | None,
                 in_storm: bool = False) -> tuple[str, list[Block]]:
    """The ``@here`` post in the team channel when nobody has acknowledged; ``permalink`` leads to the
    alert's message, or to the storm message it is folded into (``in_storm``)."""
    g = msg.group
    service = next((a.service for a in msg.alerts if a.service), None)
    what = f"{SEVERITY_MARK.get(g.severity, '')} *{escape(clip(g.title, 150))}*" + (
        f" ({escape(service)})" if service else "")
    link = f" <{permalink}|{'Open the alert storm' if in_storm else 'Open the alert'}>" if permalink else ""
    text = f"<!here> Nobody has acknowledged {what} after {format_duration(waited)}. Can someone take it?{link}"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=f"page_actions:{g.id}", elements=[
            ButtonElement(text="Acknowledge", action_id=AlertAction.ACKNOWLEDGE, value=str(g.id), style="primary"),
        ]),
    ]
    return text, blocks


def group_page(msg: AlertMessage, page: PageRecord, *, usergroup_id: str) -> tuple[str, list[Block]]:
    """The mention of a paged user group (``slack:@handle``), posted in the alert's thread."""
    g = msg.group
    what = f"{SEVERITY_MARK.get(g.severity, '')} *{escape(clip(g.title, 150))}*"
    text = f"📣 <!subteam^{usergroup_id}> you are paged for {what} ({_step(page)}). Can someone take it?"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=f"group_page_actions:{g.id}", elements=[
            ButtonElement(text="Acknowledge", action_id=AlertAction.ACKNOWLEDGE, value=str(g.id), style="primary"),
        ]),
    ]
    return text, blocks


def escalate_modal(group: AlertGroup, *, next_step: str | None, teams: Sequence[str]) -> View:
    """Submitting with nothing picked runs the next step; a person or a team is paged instead."""
    if next_step:
        intro = (f"*{escape(clip(group.title, 150))}*\nSubmit to run the next step now: {next_step}.\n"
                 "Or page someone else instead:")
    else:
        intro = f"*{escape(clip(group.title, 150))}* has no escalation policy. Pick a person or a team to page:"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=intro)),
        InputBlock(block_id=EscalateField.PERSON, optional=True, label="Page a person",
                   element=UserSelectElement(action_id=EscalateField.PERSON, placeholder="Choose someone")),
    ]
    if teams:
        blocks.append(InputBlock(
            block_id=EscalateField.TEAM, optional=True, label="Or hand it to a team (its policy starts now)",
            element=StaticSelectElement(action_id=EscalateField.TEAM, placeholder="Choose a team",
                                        options=[Option(text=t, value=t) for t in teams[:100]])))
    return View(type="modal", callback_id=Callback.ESCALATE_MODAL, private_metadata=str(group.id),
                title="Escalate", submit="Escalate", close="Cancel", blocks=blocks)


def _matchers(silence: Silence) -> str:
    return " ".join(f"`{escape(k)}={escape(str(v))}`" for k, v in sorted(silence.matchers.items()))


def silence_created(silence: Silence, *, quieted: int, zone: ZoneInfo, now_in_force: bool) -> str:
    fmt = "{date_short_pretty} {time}"
    until = slack_date(silence.ends_at, fmt, zone)
    if now_in_force:
        also = f" It quiets {quieted} open alert{'s' if quieted != 1 else ''} too." if quieted else ""
        return (f"🔕 Silence #{silence.id} is on until {until}: {_matchers(silence)}. Matching alerts are recorded "
                f"but nobody is notified.{also} End it early with `/oncall silence end {silence.id}`.")
    return (f"🛠️ Maintenance window #{silence.id} from {slack_date(silence.starts_at, fmt, zone)} until {until}: "
            f"{_matchers(silence)}. Cancel it with `/oncall silence end {silence.id}`.")


def silence_list(silences: Sequence[Silence], *, names: Mapping[str, str], zone: ZoneInfo,
                 now_in_force: Mapping[int, bool]) -> tuple[str, list[Block]]:
    if not silences:
        text = "No silences or maintenance windows. Add one with e.g. `/oncall silence service=api 2h`."
        return text, [SectionBlock(text=MarkdownTextObject(text=text))]
    fmt = "{date_short_pretty} {time}"
    lines = []
    for s in silences:
        who = actor_text(s.created_by, "slack", names)
        if now_in_force.get(s.id):
            lines.append(f"🔕 *#{s.id}* {_matchers(s)} until {slack_date(s.ends_at, fmt, zone)} — by {who}")
        else:
            lines.append(f"🛠️ *#{s.id}* {_matchers(s)} from {slack_date(s.starts_at, fmt, zone)} "
                         f"until {slack_date(s.ends_at, fmt, zone)} — by {who}")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip("\n".join(lines), 2900))),
        ContextBlock(elements=[MarkdownTextObject(text="End one early with `/oncall silence end ID`.")]),
    ]
    return f"{len(silences)} silence(s) and maintenance window(s)", blocks
