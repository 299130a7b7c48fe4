"""A playbook shown in a modal from the alert it matched."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.incidents.playbooks import Playbook
from bot.slack.blocks.common import clip, escape

GROUPS = (("investigate", "🔎 Investigate"), ("mitigate", "🩹 Mitigate"), ("fix", "🔧 Fix"))


def playbook_modal(playbook: Playbook, alert_title: str) -> View:
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(playbook.name, 150))),
        SectionBlock(text=MarkdownTextObject(text=clip(escape(playbook.summary), 2900))),
    ]
    for key, heading in GROUPS:
        steps: list[str] = getattr(playbook.steps, key)
        if steps:
            lines = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(steps, start=1))
            blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(f"*{heading}*\n{lines}", 2900))))
    if playbook.links:
        links = " · ".join(f"<{link.url}|{escape(link.text)}>" for link in playbook.links)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(links, 2000))]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=clip(f"Matched by the alert “{escape(alert_title)}”. Declaring an incident posts these steps as a "
                  "checklist whose ticks land on the timeline.", 2000))]))
    return View(type="modal", title=PlainTextObject(text="Playbook"), close=PlainTextObject(text="Close"),
                blocks=blocks)
