"""Page and answer texts for SMS: GSM-7 only, one 160-character segment where possible.

One emoji or curly quote turns a message into UCS-2 (70 characters a segment), so a page would
arrive in three pieces, possibly out of order. We transliterate what we can, drop the rest, and
shorten the description (then the title) rather than the instructions for replying.
"""

from __future__ import annotations

import unicodedata

SEGMENT = 160
# GSM 03.38: the basic set, and the extension table whose characters take two septets.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
_TRANSLIT = {
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "…": "...",
    "•": "-", "→": "->", "←": "<-", "≥": ">=", "≤": "<=", "×": "x", "\t": " ", "\u00a0": " ",
}


def septets(text: str) -> int:
    return sum(2 if c in GSM7_EXTENSION else 1 for c in text)


def to_gsm7(text: str) -> str:
    """Keep GSM-7 characters, transliterate common typography, strip accents it lacks, drop the rest."""
    out: list[str] = []
    for c in text:
        if c in GSM7_BASIC or c in GSM7_EXTENSION:
            out.append(c)
        elif c in _TRANSLIT:
            out.append(_TRANSLIT[c])
        else:
            base = unicodedata.normalize("NFKD", c)
            out.append("".join(b for b in base if b in GSM7_BASIC))
    return " ".join("".join(out).split())  # one line: newlines and runs of spaces cost characters


def _fit(text: str, room: int) -> str:
    if septets(text) <= room:
        return text
    if room <= 3:
        return ""
    cut = text
    while cut and septets(cut) > room - 3:
        cut = cut[:-1]
    return cut.rstrip(" ,.;:-") + "..."


def page_text(*, severity: str, title: str, service: str | None, description: str, code: int) -> str:
    """``CRITICAL HighErrorRate (api): error rate 7.2% > 5%. Reply 41 A to ack, 41 E to escalate, 41 R to resolve``"""
    ask = f"Reply {code} A to ack, {code} E to escalate, {code} R to resolve"
    head = to_gsm7(f"{severity.upper()} {title.rstrip(' .')}" + (f" ({service})" if service else ""))
    summary = to_gsm7(description.strip().split("\n", 1)[0]).rstrip(" .") if description.strip() else ""
    room = SEGMENT - septets(ask) - 2  # ". " before the ask
    head = _fit(head, room)
    if summary and septets(head) + 2 < room:
        text = f"{head}: {_fit(summary, room - septets(head) - 2)}"
    else:
        text = head
    return f"{text} {ask}" if text.endswith("...") else f"{text}. {ask}"
