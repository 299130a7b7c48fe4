"""Helpers for email tests: a config that pages by email, and following an email's links."""

from __future__ import annotations

import re

from bot.config import Config, parse_config
from bot.sandbox.smtp import SandboxEmail
from tests.support.factories import TOKENS, config_text
from tests.support.harness import Harness

PUBLIC_URL = "https://watch.example.com"
ALICE_EMAIL, BOB_EMAIL, TEAM_LIST = "alice@example.com", "bob@example.com", "oncall@example.com"

EMAIL_ESCALATION = """    escalation:
      - {after: 0m,  notify: [slack:primary, email:primary]}
      - {after: 5m,  notify: [email:oncall@example.com]}
      - {after: 10m, notify: [slack:channel]}
"""


def email_config(extra: str = "", *, escalation: str = EMAIL_ESCALATION, first_route: str | None = None) -> Config:
    return parse_config(email_config_text(extra, escalation=escalation, first_route=first_route), env=TOKENS)


def email_config_text(extra: str = "", *, escalation: str = EMAIL_ESCALATION, first_route: str | None = None) -> str:
    """The test config with Alice and Bob given addresses, ``escalation`` for platform, and
    ``first_route`` (one YAML flow mapping) matched before the others."""
    text = config_text(extra)
    if first_route is not None:
        text = text.replace("routes:\n", f"routes:\n  - {first_route}\n", 1)
    text = text.replace('phone: "+15550000001", timezone: Europe/Berlin}',
                        f'phone: "+15550000001", email: {ALICE_EMAIL}, timezone: Europe/Berlin}}')
    text = text.replace('phone: "+15550000002", timezone: America/New_York}',
                        f'phone: "+15550000002", email: {BOB_EMAIL}, timezone: America/New_York}}')
    start = text.index("    escalation:\n")
    end = text.index("    repeat: 1\n")
    return text[:start] + escalation + text[end:]


def links(mail: SandboxEmail) -> dict[str, str]:
    """The email's Acknowledge and Resolve links (from the plain-text part), by action."""
    assert mail.text is not None
    return {m.group(1): m.group(2) for m in re.finditer(r"^(Acknowledge|Resolve):\s+(\S+)$", mail.text, re.M)}


def local(h: Harness, link: str) -> str:
    """The link as this test reaches the bot (the email names the public URL)."""
    assert link.startswith(PUBLIC_URL + "/"), link
    return h.url + link.removeprefix(PUBLIC_URL)


async def open_link(h: Harness, link: str) -> tuple[int, str]:
    async with h.http.get(local(h, link)) as resp:
        return resp.status, await resp.text()


async def confirm_link(h: Harness, link: str) -> tuple[int, str]:
    async with h.http.post(local(h, link)) as resp:
        return resp.status, await resp.text()
