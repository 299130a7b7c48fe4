"""Email settings: where ``SMTP_URL`` points and who ``EMAIL_FROM`` is, checked when the settings load.

``SMTP_URL`` takes three forms, one per way of protecting the connection::

    smtp://host[:25]                        plain SMTP, no TLS (a relay on a trusted network)
    smtp+starttls://user:pass@host[:587]    STARTTLS required: the send fails rather than going out in clear
    smtps://user:pass@host[:465]            implicit TLS from the first byte

User and password are percent-decoded (``p%40ss`` is ``p@ss``). The password never appears in an
error message or a ``repr``: :class:`SmtpTarget` shows it as ``***``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from email.utils import getaddresses
from urllib.parse import SplitResult, unquote, urlsplit

from email_validator import EmailNotValidError, validate_email


class SmtpTls(enum.StrEnum):
    NONE = "none"            # smtp://
    STARTTLS = "starttls"    # smtp+starttls://
    IMPLICIT = "implicit"    # smtps://


SCHEMES = {"smtp": (SmtpTls.NONE, 25), "smtp+starttls": (SmtpTls.STARTTLS, 587), "smtps": (SmtpTls.IMPLICIT, 465)}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENCODE = "; a / ? or # in the user name or password must be percent-encoded (%2F %3F %23)"


class SmtpUrlError(ValueError):
    """What is wrong with ``SMTP_URL``, in words; never quotes the URL (it may hold the password)."""


@dataclass(frozen=True)
class SmtpTarget:
    """A parsed ``SMTP_URL``: where to connect, how, and as whom."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def tls(self) -> SmtpTls:
        return SCHEMES[self.scheme][0]

    @property
    def url(self) -> str:
        """The URL with the password replaced by ``***``, for messages and logs."""
        user = f"{self.username}:***@" if self.username is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port}"

    def __repr__(self) -> str:
        return (f"SmtpTarget(scheme={self.scheme!r}, host={self.host!r}, port={self.port}, "
                f"username={self.username!r}, password={'***' if self.password is not None else None})")

    __str__ = __repr__


def _port(parts: SplitResult, default: int) -> int:
    written = parts.netloc.rpartition("@")[2].rpartition("]")[2].rpartition(":")[2]
    try:
        port = parts.port
    except ValueError:  # not a number (a / or # in the password cuts the URL short), or past 65535
        port = 0
    if port == 0:
        raise SmtpUrlError("the port must be a number from 1 to 65535" + ("" if written.isdigit() else _ENCODE))
    return default if port is None else port


def _credentials(parts: SplitResult) -> tuple[str | None, str | None]:
    if parts.username is None and parts.password is None:
        return None, None
    username = unquote(parts.username or "")
    password = None if parts.password is None else unquote(parts.password)
    if not username:
        raise SmtpUrlError("a password needs a user name (user:password@host)")
    if not password:
        raise SmtpUrlError("a user name needs a password (user:password@host)")
    return username, password


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse an ``SMTP_URL``; raises :class:`SmtpUrlError` naming what is wrong (not the password)."""
    if _CONTROL.search(url):
        raise SmtpUrlError("contains a control character (a newline?)")
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise SmtpUrlError("must look like smtp://host, smtp+starttls://user:password@host or "
                           "smtps://user:password@host")
    if scheme.lower() not in SCHEMES:
        raise SmtpUrlError(f"scheme must be smtp, smtp+starttls or smtps, got {scheme[:20]!r}")
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed [IPv6] host
        raise SmtpUrlError("the host is not a valid name or address") from None
    if not parts.hostname:
        raise SmtpUrlError("the host is missing (smtp://host:port)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SmtpUrlError(f"takes no path, ?options or #fragment (the scheme says how to connect){_ENCODE}")
    _, default_port = SCHEMES[parts.scheme]
    username, password = _credentials(parts)
    return SmtpTarget(parts.scheme, parts.hostname, _port(parts, default_port), username, password)


def check_email_from(value: str) -> str:
    """``EMAIL_FROM``: one address, bare or ``Name <address>``; returned stripped. Raises ValueError."""
    value = value.strip()
    if _CONTROL.search(value):
        raise ValueError("contains a control character (a newline?)")
    found = getaddresses([value])
    if len(found) != 1 or not found[0][1]:
        raise ValueError("must be one address, like alerts@example.com or Watchstander <alerts@example.com>")
    try:
        validate_email(found[0][1], check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{found[0][1]!r} is not an email address: {exc}") from None
    return value
