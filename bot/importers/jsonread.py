"""Reading vendor JSON without trusting it: each accessor names the field it wanted when it is
missing or of the wrong kind, so a malformed export is a clear message, never a traceback."""

from __future__ import annotations

from datetime import datetime


class ImportFailed(Exception):
    """The import cannot go on; the message is for the operator. Nothing has been written."""


JsonObj = dict[str, object]


def obj(value: object, where: str) -> JsonObj:
    if not isinstance(value, dict):
        raise ImportFailed(f"{where}: expected a JSON object, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def field(d: JsonObj, key: str, where: str) -> object:
    if key not in d:
        raise ImportFailed(f"{where}: the field {key!r} is missing")
    return d[key]


def text(d: JsonObj, key: str, where: str, *, default: str | None = None) -> str:
    value = d.get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise ImportFailed(f"{where}: {key!r} should be a string, got {_kind(value)}")
    return value


def opt_text(d: JsonObj, key: str, where: str) -> str | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ImportFailed(f"{where}: {key!r} should be a string, got {_kind(value)}")
    return value


def integer(d: JsonObj, key: str, where: str, *, default: int | None = None) -> int:
    value = d.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ImportFailed(f"{where}: {key!r} should be a whole number, got {_kind(value)}")
    return value


def objects(d: JsonObj, key: str, where: str) -> list[JsonObj]:
    """A list of objects; a missing or null field is an empty list."""
    value = d.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ImportFailed(f"{where}: {key!r} should be a list, got {_kind(value)}")
    return [obj(item, f"{where}.{key}[{i}]") for i, item in enumerate(value)]


def sub(d: JsonObj, key: str, where: str) -> JsonObj:
    return obj(field(d, key, where), f"{where}.{key}")


def opt_sub(d: JsonObj, key: str, where: str) -> JsonObj | None:
    value = d.get(key)
    return None if value is None else obj(value, f"{where}.{key}")


def instant(d: JsonObj, key: str, where: str) -> datetime:
    raw = text(d, key, where)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ImportFailed(f"{where}: {key!r} is not an ISO 8601 time: {raw!r}") from None
    if value.tzinfo is None:
        raise ImportFailed(f"{where}: {key!r} has no UTC offset: {raw!r}")
    return value


def opt_instant(d: JsonObj, key: str, where: str) -> datetime | None:
    return None if d.get(key) is None else instant(d, key, where)


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def strings(d: JsonObj, key: str) -> list[str]:
    """The strings of a list field (other items skipped); a missing or non-list field is empty."""
    value = d.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
