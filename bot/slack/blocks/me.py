"""Block Kit for ``/oncall me``: how the bot reaches you, and buttons that send you a test page.

Pure functions of plain values: the listener (:mod:`bot.slack.listeners.oncall_me`) looks up the
person, what is set up, whether they sent STOP, and their shifts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.config import Person
from bot.durations import format_config_duration
from bot.escalation.models import Via
from bot.escalation.self_test import WORDS, describe
from bot.oncall.report_text import when
from bot.slack.blocks.oncall import Rendered, context, section
from bot.slack.ids import MeAction

ALL = "all"  # the value of the button that tests every channel


@dataclass(frozen=True)
class MeView:
    """What ``/oncall me`` shows one person."""

    user_id: str
    person: Person | None
    zone: tzinfo
    reachable: tuple[Via, ...]  # channels the config knows how to reach them on
    not_set_up: dict[Via, str]  # channel → why this bot cannot send on it
    stopped_sms: bool  # they replied STOP to the bot's number
    roles: list[str]  # "primary for platform until Mon 7 Dec 09:00 CET"
    now: datetime


def phone_tail(phone: str) -> str:
    """Enough of a number to recognise it: its last four digits."""
    return f"…{phone[-4:]}"


def _via_text(view: MeView, via: Via) -> str:
    p = view.person
    if via in (Via.SMS, Via.CALL) and p is not None and p.phone:
        return f"{WORDS[via]} to {phone_tail(p.phone)}"
    if via == Via.EMAIL and p is not None and p.email:
        return f"email to {p.email}"
    return WORDS[via]


def _problems(view: MeView, via: Via) -> str:
    if via in view.not_set_up:
        return f" ⚠️ _cannot be sent: {view.not_set_up[via]}_"
    return ""


def _rules(view: MeView) -> list[str]:
    p = view.person
    if p is None or not p.notify:
        lines = [f"• at once — Slack DM{_problems(view, Via.SLACK)} _(no `notify:` rules of your own: the default)_"]
    else:
        lines = [f"• {'at once' if r.after.total_seconds() == 0 else 'after ' + format_config_duration(r.after)}"
                 f" — {_via_text(view, Via(r.via))}{_problems(view, Via(r.via))}" for r in p.notify]
    return lines


def _quiet(view: MeView) -> str | None:
    q = view.person.quiet if view.person else None
    if q is None:
        return None
    return (f"🌙 Quiet hours {q.start:%H:%M}–{q.end:%H:%M} ({view.zone}): SMS and calls for alerts below "
            f"{q.below} wait until {q.end:%H:%M}; {q.below} alerts are never held.")


def me_view(view: MeView) -> Rendered:
    p = view.person
    who = p.name if p else f"<@{view.user_id}>"
    head = f"*How Watchstander reaches you, {who}* ({view.zone}, {when(view.now, view.zone, now=view.now)})"
    lines = [head, "When a step pages you by your own rules (`person:` targets):", *_rules(view)]
    if (quiet := _quiet(view)) is not None:
        lines.append(quiet)
    if view.stopped_sms:
        lines.append("⚠️ You replied STOP to the bot's number: SMS pages skip you (and reach you otherwise) "
                     "until you send START.")
    lines.append("Steps that name a channel (`slack:`, `sms:`, `call:`, `email:`) reach you on that channel when the step runs, whatever your rules say.")
    if p is None:
        lines.append("You are not in the config's `people:`, so only Slack can reach you; add yourself with "
                     "`phone:` and `email:` to be paged by SMS, call or email.")
    lines.append("On call now: " + ("; ".join(view.roles) if view.roles else "no"))
    text = "\n".join(lines)
    blocks: list[Block] = [section(text)]
    testable = [v for v in view.reachable if v not in view.not_set_up]
    if testable:
        blocks.append(context(f"A test page reaches you on {describe(tuple(testable))} at once, shown in your DM "
                              "with me; acknowledging it there, by SMS, by key 1 or by email shows you the whole loop."))
        buttons = [ButtonElement(text="Test every channel", action_id=MeAction.TEST, value=ALL, style="primary")]
        if len(testable) > 1:
            buttons += [ButtonElement(text=f"Test {WORDS[v]}", action_id=f"{MeAction.TEST}:{v}", value=str(v))
                        for v in testable]
        blocks.append(ActionsBlock(block_id="oncall_me", elements=buttons))
    return Rendered(text=text, blocks=blocks)


def test_sent(vias: tuple[Via, ...], group_id: int) -> str:
    return (f"🧪 Test page #{group_id} sent on {describe(vias)}: look at your DM with me, your phone and your inbox. "
            "Acknowledge it from any of them, then resolve it.")
