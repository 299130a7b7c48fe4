"""The signed, expiring tokens in an alert email's Acknowledge and Resolve links.

A link is a bearer credential: whoever holds the email may act on the alert, as the person (or
team address) it was sent to, until it expires. So the token names exactly one alert, one action
and one actor, carries its expiry, and is signed with HMAC-SHA256 under a key kept in the database
(``signing_keys``), which every replica shares and no environment variable has to carry.

Written with the standard library's ``hmac`` rather than a token library: the expiry must be read
against the bot's injected clock (tests move it), and the whole format is a JSON claim and a MAC.
Opening the link only shows a confirmation page; the action needs the page's POST (see
``bot/web/email_links.py``), so a mail scanner that follows links acknowledges nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, upsert

LINK_VALID = timedelta(hours=24)  # long enough for the next morning; a page older than that is history
KEY_NAME = "email_links"
_MAC_BYTES = 16  # 128 bits: enough against forgery, and the link stays short


class LinkAction(StrEnum):
    ACK = "ack"
    RESOLVE = "resolve"


class SigningKey(Base):
    __tablename__ = "signing_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))  # hex
    created_at: Mapped[datetime]


async def load_key(session: AsyncSession, now: datetime) -> bytes:
    """The link-signing key, made on the first start (two replicas starting together agree on one)."""
    await session.execute(upsert(session, SigningKey).values(
        name=KEY_NAME, secret=secrets.token_hex(32), created_at=now).on_conflict_do_nothing(index_elements=["name"]))
    stored = await session.scalar(select(SigningKey.secret).where(SigningKey.name == KEY_NAME))
    assert stored is not None
    return bytes.fromhex(stored)


@dataclass(frozen=True)
class LinkClaim:
    group_id: int
    action: LinkAction
    actor: str  # a Slack user id, or the address the email went to
    expires_at: datetime


class LinkRefused(Exception):
    """The token is not one of ours, or no longer valid; the text is what the page says."""


class LinkExpired(LinkRefused):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def sign(self, claim: LinkClaim) -> str:
        body = json.dumps({"g": claim.group_id, "a": claim.action.value, "by": claim.actor,
                           "exp": int(claim.expires_at.timestamp())}, separators=(",", ":")).encode()
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def verify(self, token: str, now: datetime) -> LinkClaim:
        """The claim, or :class:`LinkRefused` / :class:`LinkExpired`; the MAC is checked before the
        claim is parsed, so nothing of a forged token is ever read."""
        body_part, _, mac_part = token.partition(".")
        try:
            body, mac = _unb64(body_part), _unb64(mac_part)
        except (binascii.Error, ValueError):
            raise LinkRefused("This link is not valid: it was cut short or changed.") from None
        if not hmac.compare_digest(mac, self._mac(body)):
            raise LinkRefused("This link is not valid: it was cut short or changed.")
        data = json.loads(body)
        claim = LinkClaim(group_id=int(data["g"]), action=LinkAction(data["a"]), actor=str(data["by"]),
                          expires_at=datetime.fromtimestamp(int(data["exp"]), UTC))
        if now >= claim.expires_at:
            raise LinkExpired("This link has expired. Act on the alert in Slack instead.")
        return claim
