"""Opsgenie routing-rule criteria as Watchstander route matchers (label → value or ``~regex``).

Conditions on ``extra-properties`` become label matches (Opsgenie's extra properties are the
labels an Alertmanager or API alert carried); ``equals``, ``contains``, ``starts-with``,
``ends-with`` and ``matches`` translate; negated conditions and other fields (message, tags,
priority…) have no route equivalent and are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.importers.jsonread import JsonObj, objects, text

_OPS: dict[str, Callable[[str], str]] = {
    "equals": lambda v: v,
    "contains": lambda v: f"~.*{re.escape(v)}.*",
    "starts-with": lambda v: f"~{re.escape(v)}.*",
    "ends-with": lambda v: f"~.*{re.escape(v)}",
    "matches": lambda v: f"~{v}",
}


def route_match(criteria: JsonObj, where: str) -> tuple[list[dict[str, str]], str | None]:
    """The matchers (one for match-all-conditions, one per condition for match-any-condition) and,
    when some condition could not be carried over, why."""
    kind = text(criteria, "type", where, default="match-all")
    if kind == "match-all":
        return [], "matches every alert; the team's integrations already send them there"
    found: list[dict[str, str]] = []
    skipped: list[str] = []
    for c in objects(criteria, "conditions", where):
        field, op = text(c, "field", where), text(c, "operation", where)
        value = text(c, "expectedValue", where, default="")
        if field != "extra-properties" or c.get("not") is True or op not in _OPS:
            skipped.append(f"{'not ' if c.get('not') is True else ''}{field} {op} {value!r}")
            continue
        found.append({text(c, "key", where): str(_OPS[op](value))})
    problem = ("conditions without a route equivalent (only positive extra-properties conditions carry over): "
               + "; ".join(skipped)) if skipped else None
    if kind == "match-all-conditions":
        if skipped:
            return [], problem
        merged: dict[str, str] = {}
        for m in found:
            merged.update(m)
        return ([merged] if merged else []), None
    return found, problem
