"""SMS wire details the Twilio stand-in must get right: segment counting, TwiML, Twilio's dates.

Segments matter because they are what a page costs and what splits a message on the phone: one
emoji turns a 150-character GSM-7 message (1 segment) into UCS-2 (3 segments).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime

# GSM 03.38 basic character set; the extension table's characters cost two septets each.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def sms_segments(body: str) -> tuple[int, str]:
    """(segments, encoding): GSM-7 is 160 septets in one segment or 153 per part; UCS-2 70 or 67."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        septets = sum(2 if c in GSM7_EXTENSION else 1 for c in body)
        return (1 if septets <= 160 else math.ceil(septets / 153)), "GSM-7"
    units = len(body.encode("utf-16-le")) // 2  # characters outside the BMP (emoji) take two
    return (1 if units <= 70 else math.ceil(units / 67)), "UCS-2"


def twiml_messages(twiml: str) -> list[str]:
    """The text of every ``<Message>`` in a TwiML answer (``<Message>hi</Message>`` or with ``<Body>``)."""
    if not twiml.strip():
        return []
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise ValueError(f"the bot answered with malformed TwiML: {exc}") from None
    if root.tag != "Response":
        raise ValueError(f"TwiML must have a <Response> root, got <{root.tag}>")
    texts = []
    for message in root.iter("Message"):
        body = message.find("Body")
        texts.append(((body.text if body is not None else message.text) or "").strip())
    return texts


def rfc2822(when: datetime) -> str:
    """Twilio's date format: ``Mon, 24 Nov 2026 09:00:00 +0000``."""
    return format_datetime(when.astimezone(UTC))


def parse_twilio_date(value: str) -> datetime:
    """A ``DateSent`` filter value: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SSZ`` (what twilio-python sends)."""
    if len(value) == 10:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
