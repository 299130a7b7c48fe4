"""What a page by phone call says, and how its outcome reads in the alert's thread. Pure.

A call is heard, not read, at 3 a.m.: one short sentence about the alert (severity, title,
service, the first line of its description), then the three keys. Text-to-speech reads what it
is given, so the description is cut to one sentence-sized piece and newlines and runs of spaces
are folded.
"""

from __future__ import annotations

from enum import StrEnum

TITLE_MAX = 100
DESCRIPTION_MAX = 160
PROMPT = "Press 1 to acknowledge, 2 to escalate, 3 to resolve."
GOODBYE = "Goodbye."
UNKNOWN_PAGE = "This is Watchstander. This call is about a page that no longer exists, so there is nothing to do. Goodbye."
VOICEMAIL_ASK = "Please open Slack to acknowledge it. Goodbye."


class KeyPress(StrEnum):
    """What each key on the phone does; the same actions as the Slack buttons."""

    ACK = "1"
    ESCALATE = "2"
    RESOLVE = "3"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:-") + "..."


def call_intro(*, severity: str, title: str, service: str | None, description: str) -> str:
    """``Watchstander. Critical alert: HighErrorRate on api. error rate 7.2% > 5%.``"""
    head = f"Watchstander. {severity.capitalize()} alert: {_cut(_one_line(title).rstrip(' .'), TITLE_MAX)}"
    if service:
        head += f" on {_one_line(service)}"
    lines = description.strip().splitlines()
    summary = _cut(_one_line(lines[0]).rstrip(" ."), DESCRIPTION_MAX) if lines else ""
    return f"{head}. {summary}." if summary else f"{head}."


def already(status: str, by: str | None) -> str:
    """An alert someone else acknowledged or resolved meanwhile: ``This alert was already resolved by Bob.``"""
    return f"This alert was already {status}" + (f" by {by}." if by else ".")


def call_outcome(name: str, status: str | None, error: str | None) -> str:
    """A call that reached nobody, for the alert's thread: ``📞 Alice's call went to voicemail.``"""
    match status:
        case "voicemail":
            return f"📞 {name}'s call went to voicemail."
        case "no-answer":
            return f"📞 {name} did not answer the call."
        case "busy":
            return f"📞 {name}'s line was busy."
        case "canceled":
            return f"📞 The call to {name} was canceled."
        case "failed":  # Twilio could not connect it; its code, when it gave one
            return f"⚠️ The call to {name} failed" + (f" ({error})." if error and error != status else ".")
        case _:
            return f"⚠️ The call to {name} failed: {status or 'refused'} ({error})."
