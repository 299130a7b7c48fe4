"""Render the post-mortem draft from a Jinja2 Markdown template.

The template is a user-replaceable file (``playbooks/postmortem.md.j2`` by default), so a broken
one must fail with a message that names the file, the line and the missing name, not a bare
``UndefinedError`` deep in a resolve handler. Autoescaping is off because the output is Markdown;
text people typed goes through the ``md`` / ``md_block`` filters instead, which neutralise the
characters that would break a table, start a heading or inject HTML.

Filters available to templates:

- ``when``: a datetime as ``2026-11-24 14:03:07 CET`` in the context's timezone; ``—`` for None.
- ``md``: user text for one line or table cell (newlines folded, ``|`` and markup escaped).
- ``md_block``: user text for a paragraph (line breaks kept, leading ``#``/``>`` neutralised).
- ``md_url``: a URL safe inside ``[text](url)`` and table cells.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from bot.incidents.playbooks import playbook_search_path
from bot.incidents.postmortem_context import MISSING, PostmortemContext

TEMPLATE_NAME = "postmortem.md.j2"


class PostmortemTemplateError(Exception):
    """The template could not be loaded or rendered; the message says where and why."""


# --- filters -------------------------------------------------------------------------------------

# Backslash first, so the escapes added for the others are not escaped again.
_INLINE = re.compile(r"([\\`*\[\]<>|~])")
# '_' only opens emphasis at a word boundary; snake_case identifiers stay readable.
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_HEADING = re.compile(r"^(\s{0,3})#")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")


def _escape_inline(text: str) -> str:
    return _UNDERSCORE.sub(r"\\_", _INLINE.sub(r"\\\1", text))


def md(value: object) -> str:
    """User text for a single line or a table cell."""
    if value is None or value == "":
        return MISSING
    return _escape_inline(" ".join(str(value).split()))


def md_block(value: object) -> str:
    """User text for a paragraph: keeps line breaks and lists, but cannot open a heading, a quote,
    a code fence or a rule, nor turn the line above into a heading."""
    if value is None or not str(value).strip():
        return MISSING
    out = []
    for raw in str(value).strip().splitlines():
        line = _escape_inline(raw.rstrip())
        line = "\\" + line.lstrip() if _SETEXT.match(line) else _HEADING.sub(r"\1\\#", line)
        out.append(line)
    return "\n".join(out)


def md_url(value: object) -> str:
    return str(value).strip().replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("|", "%7C")


def format_when(value: datetime | None, zone: ZoneInfo) -> str:
    """``2026-11-24 14:03:07 CET``; zones without a letter abbreviation show ``UTC-03:00``."""
    if value is None:
        return MISSING
    if not isinstance(value, datetime):
        raise TypeError(f"the 'when' filter needs a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone)
    abbr = local.strftime("%Z")
    if not abbr or abbr[0] in "+-":
        offset = local.strftime("%z")
        abbr = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{local:%Y-%m-%d %H:%M:%S} {abbr}"


# --- rendering -----------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PostmortemTemplateError(f"unknown time zone {name!r} in the post-mortem context") from None


def _template_line(exc: BaseException, template_path: Path) -> int | None:
    """Jinja rewrites tracebacks so template frames carry the template's file name and line."""
    target = str(template_path)
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == target:
            line = frame.lineno
    return line


def _environment(directory: Path, zone: ZoneInfo) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML; user text is escaped with the md filters
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=lambda value: format_when(value, zone),
        md=md,
        md_block=md_block,
        md_url=md_url,
    )
    return env


def render_postmortem(context: PostmortemContext, template_path: Path) -> str:
    """Render the draft; raise PostmortemTemplateError naming the file, line and problem."""
    zone = _zone(context.timezone)
    template_path = template_path.resolve()
    env = _environment(template_path.parent, zone)
    where = str(template_path)
    try:
        template = env.get_template(template_path.name)
    except jinja2.TemplateNotFound:
        raise PostmortemTemplateError(f"{where}: post-mortem template not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise PostmortemTemplateError(f"{where}:{exc.lineno}: template syntax error: {exc.message}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PostmortemTemplateError(f"{where}: cannot read the template: {exc}") from None
    variables: dict[str, object] = {f.name: getattr(context, f.name) for f in fields(context)}
    try:
        return template.render(variables)
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, template_path)
        at = f"{where}:{line}" if line else where
        names = ", ".join(variables)
        raise PostmortemTemplateError(
            f"{at}: {exc.message}; the template can use {names} (see bot/incidents/postmortem_context.py)"
        ) from None
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as exc:
        line = _template_line(exc, template_path)
        at = f"{where}:{line}" if line else where
        raise PostmortemTemplateError(f"{at}: {exc}") from None


def default_postmortem_template() -> Path:
    """The first ``postmortem.md.j2`` along the playbook search path, so an operator's own
    playbook folder may carry its own template or fall back to the shipped one."""
    candidates = [directory / TEMPLATE_NAME for directory in playbook_search_path()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise PostmortemTemplateError(
        "no post-mortem template found (looked for " + ", ".join(map(str, candidates)) + ")"
    )

