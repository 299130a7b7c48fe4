"""What every email the bot sends is made of: a subject, a plain-text part and an HTML part.

The parts come from Jinja2 templates shipped in the package (``bot/notify/templates/email/``).
An operator may override any of them by putting a file of the same name in an
``email-templates/`` folder beside the config file; the rest keep the shipped version. Plain-text
templates are not escaped, HTML templates are (autoescape), and an undefined name is an error
rather than an empty string, so a broken override fails loudly when it is first rendered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)

from bot.config import Settings

OVERRIDE_DIR = "email-templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def jinja_env(override_dir: Path | None = None) -> Environment:
    loaders: list[FileSystemLoader | PackageLoader] = [PackageLoader("bot.notify", "templates/email")]
    if override_dir is not None and override_dir.is_dir():
        loaders.insert(0, FileSystemLoader(override_dir))
    return Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html", "html.j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def email_env(settings: Settings) -> Environment:
    """The templates, with the operator's overrides from ``email-templates/`` beside the config file."""
    return jinja_env(Path(settings.config_path).resolve().parent / OVERRIDE_DIR)


def render(env: Environment, name: str, subject: str, **context: object) -> RenderedEmail:
    """``name``'s ``.txt.j2`` and ``.html.j2`` templates with ``context``."""
    return RenderedEmail(subject=subject, text=env.get_template(f"{name}.txt.j2").render(subject=subject, **context),
                         html=env.get_template(f"{name}.html.j2").render(subject=subject, **context))


@dataclass(frozen=True)
class Identity:
    """How this installation's emails name themselves: the sender, and Message-IDs of its own."""

    sender: str      # EMAIL_FROM as given ("Watchstander <oncall@example.com>")
    domain: str      # the sender's domain, the right-hand side of every Message-ID
    install: str     # a tag of this installation's link key, so two installs' ids never meet

    @classmethod
    def of(cls, email_from: str, key: bytes) -> Identity:
        address = parseaddr(email_from)[1]
        return cls(sender=email_from, domain=address.rpartition("@")[2] or "watchstander.invalid",
                   install=hashlib.sha256(b"message-id:" + key).hexdigest()[:10])

    def message_id(self, name: str) -> str:
        return f"<{name}.{self.install}@{self.domain}>"


@dataclass(frozen=True)
class InlineImage:
    cid: str        # the HTML part shows it as <img src="cid:...">
    png: bytes
    filename: str


def compose(rendered: RenderedEmail, *, identity: Identity, to: Sequence[str], name: str, now: datetime,
            reply_to: str | None = None, images: Sequence[InlineImage] = ()) -> EmailMessage[str, str]:
    """The message, built with the standard library's ``email`` package: text and HTML as
    alternatives, inline images related to the HTML part, and our own stable Message-ID
    (``name``), answering ``reply_to``'s message when given."""
    msg: EmailMessage[str, str] = EmailMessage()
    msg["From"] = identity.sender
    msg["To"] = ", ".join(str(Address(addr_spec=address)) for address in to)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = identity.message_id(name)
    if reply_to is not None:
        msg["In-Reply-To"] = msg["References"] = identity.message_id(reply_to)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to the bot
    msg["X-Auto-Response-Suppress"] = "All"   # and none from Exchange
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    html = msg.get_body(preferencelist=("html",))
    assert isinstance(html, EmailMessage)
    for image in images:
        html.add_related(image.png, maintype="image", subtype="png", cid=f"<{image.cid}>", filename=image.filename,
                         disposition="inline")
    return msg
