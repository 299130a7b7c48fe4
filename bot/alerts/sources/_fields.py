"""Typed reads of untrusted JSON for the source parsers, and the size caps every parser applies.

Each reader returns ``None`` (or an empty value) when the field is absent or wrong and records
one precise error naming the field; a parser reads everything, then calls
:meth:`Errors.raise_if_any`, so one bad delivery reports all its problems at once. Nothing here
raises anything but :class:`PayloadError`, whatever JSON value it is given.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from bot.alerts.incoming import Link, PayloadError

JSONObject = dict[str, object]

# Caps that keep a single alert inside Slack's limits (header text 150, section 3000, button URL
# 3000, context elements 10) with room for the message builder's own decoration.
MAX_TITLE = 250
MAX_DESCRIPTION = 3000
MAX_LABELS = 64
MAX_LABEL_KEY = 250
MAX_LABEL_VALUE = 1000
MAX_ANNOTATION_VALUE = 3000
MAX_SHORT_TEXT = 250  # service, metric, threshold, value, link text
MAX_URL = 3000
MAX_LINKS = 20
MAX_IDENTITY = 255  # fingerprints and group keys longer than this are replaced by their hash
MAX_ERRORS = 20

ELLIPSIS = "…"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


# --- errors ----------------------------------------------------------------------------------


def describe(value: object) -> str:
    """The JSON type of ``value`` as a user reads it in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def quote(value: str, limit: int = 40) -> str:
    """``value`` as a short JSON string literal, for echoing user input in an error."""
    return json.dumps(clean(truncate(value, limit)), ensure_ascii=False)


def clean(text: str) -> str:
    """``text`` with lone UTF-16 surrogates (valid in JSON, unencodable in UTF-8) replaced."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def child(path: str, key: str) -> str:
    """The path of ``key`` inside the object at ``path`` (``""`` is the body itself)."""
    part = key if len(key) <= 60 and _IDENTIFIER.match(key) else f"[{quote(key, 60)}]"
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


def item(path: str, index: int) -> str:
    return f"{path}[{index}]"


class Errors:
    """Collects ``"<field>: <problem>"`` messages; subclasses may phrase them as a source does."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def missing(self, path: str) -> None:
        self.add(f"{path}: required")

    def wrong_type(self, path: str, expected: str, value: object) -> None:
        self.add(f"{path or 'body'}: expected {expected}, got {describe(value)}")

    def invalid(self, path: str, problem: str) -> None:
        self.add(f"{path or 'body'}: {problem}")

    def __bool__(self) -> bool:
        return bool(self.messages)

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        shown = self.messages[:MAX_ERRORS]
        if len(self.messages) > MAX_ERRORS:
            shown.append(f"… and {len(self.messages) - MAX_ERRORS} more errors")
        raise PayloadError(shown)


# --- readers ---------------------------------------------------------------------------------


def as_object(value: object, path: str, errors: Errors) -> JSONObject | None:
    if isinstance(value, dict):
        return value
    errors.wrong_type(path, "an object", value)
    return None


def get_object(
    obj: JSONObject, key: str, path: str, errors: Errors, *, required: bool = False
) -> JSONObject | None:
    value = obj.get(key)
    if value is None:
        if required:
            errors.missing(child(path, key))
        return None
    return as_object(value, child(path, key), errors)


def get_list(
    obj: JSONObject, key: str, path: str, errors: Errors, *, required: bool = False
) -> list[object] | None:
    value = obj.get(key)
    if value is None:
        if required:
            errors.missing(child(path, key))
        return None
    if isinstance(value, list):
        return value
    errors.wrong_type(child(path, key), "a list", value)
    return None


def get_str(obj: JSONObject, key: str, path: str, errors: Errors, *, required: bool = False) -> str | None:
    """A string field; ``null`` counts as absent. With ``required`` a blank string is missing too."""
    value = obj.get(key)
    if value is None or (required and isinstance(value, str) and not value.strip()):
        if required:
            errors.missing(child(path, key))
        return None
    if isinstance(value, str):
        return clean(value)
    errors.wrong_type(child(path, key), "a string", value)
    return None


def get_id(obj: JSONObject, key: str, path: str, errors: Errors, *, required: bool = False) -> str | None:
    """An identifier sent as a string or an integer (Sentry sends both)."""
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float | bool) or (value is not None and not isinstance(value, str)):
        errors.wrong_type(child(path, key), "a string or an integer", value)
        return None
    return get_str(obj, key, path, errors, required=required)


def get_int(obj: JSONObject, key: str, path: str, errors: Errors) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    errors.wrong_type(child(path, key), "an integer", value)
    return None


def get_text_or_number(obj: JSONObject, key: str, path: str, errors: Errors) -> str | None:
    """A display value such as a metric reading, sent as a string or a number."""
    value = obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value)
    if value is not None and not isinstance(value, str):
        errors.wrong_type(child(path, key), "a string or a number", value)
        return None
    text = get_str(obj, key, path, errors)
    return short(text)


def get_str_map(obj: JSONObject, key: str, path: str, errors: Errors) -> dict[str, str]:
    """An object whose values are all strings (labels, annotations, tags)."""
    value = obj.get(key)
    if value is None:
        return {}
    field = child(path, key)
    if not isinstance(value, dict):
        errors.wrong_type(field, "an object of strings", value)
        return {}
    result: dict[str, str] = {}
    for name, entry in value.items():
        if isinstance(entry, str):
            result[clean(name)] = clean(entry)
        else:
            errors.wrong_type(child(field, name), "a string", entry)
    return result


def get_timestamp(obj: JSONObject, key: str, path: str, errors: Errors) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp as an aware UTC datetime.

    Go's zero time (``0001-01-01T00:00:00Z``, what Alertmanager sends for "no end") means unset;
    a timestamp without an offset is taken as UTC.
    """
    text = get_str(obj, key, path, errors)
    if text is None or not text.strip():
        return None
    parsed = parse_timestamp(text)
    if parsed is None:
        errors.invalid(child(path, key), f"expected an ISO 8601 timestamp, got {quote(text)}")
        return None
    return None if parsed.year <= 1 else parsed


def parse_timestamp(text: str) -> datetime | None:
    if len(text) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
        if parsed.year <= 1:
            return parsed.replace(tzinfo=UTC)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def get_links(obj: JSONObject, key: str, path: str, errors: Errors, *, strict_urls: bool) -> tuple[Link, ...]:
    """``[{"href", "text"}]`` as used by PagerDuty and the generic payload.

    ``text`` defaults to the href. Hrefs that are not http(s) URLs are an error with
    ``strict_urls``; otherwise such links are dropped (a Slack button cannot open them).
    """
    items = get_list(obj, key, path, errors)
    if not items:
        return ()
    links: list[Link] = []
    for index, raw in enumerate(items):
        at = item(child(path, key), index)
        entry = as_object(raw, at, errors)
        if entry is None:
            continue
        href = get_str(entry, "href", at, errors, required=True)
        text = get_str(entry, "text", at, errors)
        if href is None:
            continue
        url = http_url(href)
        if url is None:
            if strict_urls:
                errors.invalid(child(at, "href"), f"expected an http(s) URL of at most {MAX_URL} characters")
            continue
        links.append(
            Link(href=url, text=truncate(text.strip() if text and text.strip() else url, MAX_SHORT_TEXT))
        )
    return tuple(links[:MAX_LINKS])


# --- shaping ---------------------------------------------------------------------------------


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def short(text: str | None) -> str | None:
    return None if text is None else truncate(text, MAX_SHORT_TEXT)


def title(text: str) -> str:
    """A title: one line, trimmed, capped."""
    return truncate(" ".join(text[: MAX_TITLE * 4].split()), MAX_TITLE)


def description(lines: Iterable[str | None]) -> str:
    """Non-empty, distinct lines joined and capped."""
    kept: list[str] = []
    for line in lines:
        if line and line.strip() and line.strip() not in kept:
            kept.append(line.strip())
    return truncate("\n".join(kept), MAX_DESCRIPTION)


def http_url(value: str | None) -> str | None:
    """``value`` if it is an http(s) URL a Slack button can open, else ``None``."""
    if value is None:
        return None
    url = value.strip()
    if not url or len(url) > MAX_URL or not url.lower().startswith(("http://", "https://")):
        return None
    return url


def first(mapping: Mapping[str, str], keys: Iterable[str]) -> str | None:
    """The first non-blank value among ``keys``."""
    for key in keys:
        value = mapping.get(key)
        if value and value.strip():
            return value.strip()
    return None


def cap_map(
    mapping: Mapping[str, str], *, value_limit: int, keep_first: Iterable[str] = ()
) -> dict[str, str]:
    """At most :data:`MAX_LABELS` entries, ``keep_first`` keys kept in preference; long keys and
    values truncated."""
    order = [key for key in keep_first if key in mapping]
    order += [key for key in mapping if key not in order]
    capped: dict[str, str] = {}
    for key in order[:MAX_LABELS]:
        capped[truncate(key, MAX_LABEL_KEY)] = truncate(mapping[key], value_limit)
    return capped


def cap_labels(labels: Mapping[str, str], keep_first: Iterable[str] = ()) -> dict[str, str]:
    return cap_map(labels, value_limit=MAX_LABEL_VALUE, keep_first=keep_first)


def cap_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    return cap_map(annotations, value_limit=MAX_ANNOTATION_VALUE)


def stable_hash(*parts: object) -> str:
    """A hex digest of JSON-serialisable ``parts`` that is the same in every process."""
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def identity(value: str) -> str:
    """A fingerprint or group key fit for storage: long ones become their hash, never a prefix
    (a cut would merge distinct alerts)."""
    if len(value) <= MAX_IDENTITY:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def format_number(value: float) -> str:
    """A metric reading for people: integers as such, floats to six significant digits."""
    if isinstance(value, int):
        try:
            return truncate(str(value), MAX_SHORT_TEXT)
        except ValueError:  # more digits than int->str conversion allows
            return "(a very large number)"
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"
