"""What every email Watchstander sends is made of, and the Jinja2 environment its templates render in.

Templates live in the package, ``bot/notify/templates/email/``: ``<name>.txt.j2`` for the plain-text
part (not escaped) and ``<name>.html.j2`` for the HTML part (autoescaped, so an alert title is text,
never markup). An undefined name is an error, not an empty string.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str  # the text/plain part
    html: str  # the text/html part


@cache
def jinja_env() -> Environment:
    """The email templates' environment, built once and shared (add nothing to it at run time).

    ``select_autoescape`` matches the end of a template's name, so ``daily.html.j2`` needs the
    ``html.j2`` extension listed: with ``["html"]`` alone it would not be escaped."""
    return Environment(
        loader=PackageLoader("bot.notify", "templates/email"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), disabled_extensions=("txt", "txt.j2"),
                                     default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
