"""What someone meant by their SMS reply to a page. Pure; forgiving of how people type.

Accepted, in any case and with any punctuation or spacing: ``41 A``, ``a 41``, ``41a``,
``ack 41``, ``41 ack``, ``41 e`` / ``esc 41``, ``41 r`` / ``resolve 41``, several codes
(``41 17 a``), ``ACK ALL``, and an action alone (``a``) which applies when the sender has exactly
one open page. ``help`` or ``?`` asks for the list of open codes. Anything else is not understood,
and nothing is changed.

Before any of that, :func:`keyword` recognises Twilio's reserved keywords, which Twilio acts on
itself (a message that is exactly one of them, in any case): ``STOP`` and its synonyms opt the
number out of every SMS from ours, ``START`` opts it back in, ``HELP``/``INFO`` ask for help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ReplyAction(StrEnum):
    ACK = "ack"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    HELP = "help"


WORDS = {
    "a": ReplyAction.ACK, "ack": ReplyAction.ACK, "acknowledge": ReplyAction.ACK, "acknowledged": ReplyAction.ACK,
    "ok": ReplyAction.ACK, "k": ReplyAction.ACK,
    "e": ReplyAction.ESCALATE, "esc": ReplyAction.ESCALATE, "escalate": ReplyAction.ESCALATE,
    "r": ReplyAction.RESOLVE, "res": ReplyAction.RESOLVE, "resolve": ReplyAction.RESOLVE,
    "resolved": ReplyAction.RESOLVE, "fixed": ReplyAction.RESOLVE,
    "help": ReplyAction.HELP, "h": ReplyAction.HELP, "?": ReplyAction.HELP, "codes": ReplyAction.HELP,
    "list": ReplyAction.HELP,
}
_TOKEN = re.compile(r"\d+|[a-z]+|\?")
MAX_CODE_DIGITS = 9  # far above any code, far below what int() refuses (4,300 digits)


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


# Twilio's default opt-out, opt-in and help keywords. It honours them only as the whole message
# ("STOP PLEASE" is not an opt-out), case-insensitive, surrounding whitespace ignored.
KEYWORDS = {
    **dict.fromkeys(("stop", "stopall", "unsubscribe", "cancel", "end", "quit"), Keyword.STOP),
    **dict.fromkeys(("start", "yes", "unstop"), Keyword.START),
    **dict.fromkeys(("help", "info"), Keyword.HELP),
}


def keyword(text: str) -> Keyword | None:
    """The Twilio keyword the whole message is, if it is one."""
    return KEYWORDS.get(text.strip().lower())


@dataclass(frozen=True)
class SmsCommand:
    action: ReplyAction
    codes: tuple[int, ...] = ()  # empty with ``every`` False: "the only open page"
    every: bool = False          # ACK ALL


class NotUnderstood(ValueError):
    """The reply cannot be read as one instruction; ``str()`` says why, for the answer SMS."""


def parse_reply(text: str) -> SmsCommand:
    tokens = _TOKEN.findall(text.lower())
    actions: list[ReplyAction] = []
    codes: list[int] = []
    every = False
    unknown: list[str] = []
    for token in tokens:
        if token.isdigit() and len(token) > MAX_CODE_DIGITS:
            raise NotUnderstood(f"{token[:MAX_CODE_DIGITS]}... is not a page code; codes are at most 5 digits.")
        if token.isdigit():
            codes.append(int(token))
        elif token == "all":
            every = True
        elif token in WORDS:
            actions.append(WORDS[token])
        else:
            unknown.append(token)
    if not tokens:
        raise NotUnderstood("The reply was empty.")
    if unknown:
        raise NotUnderstood(f"Did not understand \"{' '.join(unknown)}\".")
    distinct = list(dict.fromkeys(actions))
    if len(distinct) > 1:
        raise NotUnderstood("That reply asks for more than one thing; send one of A, E or R.")
    if not distinct:
        raise NotUnderstood(f"What should happen to {', '.join(map(str, codes))}? Add A to ack, E to escalate "
                            "or R to resolve.")
    action = distinct[0]
    if action == ReplyAction.HELP:
        return SmsCommand(ReplyAction.HELP)
    if every and codes:
        raise NotUnderstood("Send either codes or ALL, not both.")
    return SmsCommand(action, tuple(dict.fromkeys(codes)), every)
