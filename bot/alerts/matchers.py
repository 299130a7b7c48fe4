"""Label matchers shared by routes, playbooks and silences: exact values, or ``~regex``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def value_matches(expected: str, actual: str | None) -> bool:
    if actual is None:
        return False
    if expected.startswith("~"):
        return _compiled(expected[1:]).search(actual) is not None
    return expected == actual


def labels_match(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """True when every matcher holds. An empty matcher set matches nothing (never everything)."""
    return bool(matchers) and all(value_matches(v, labels.get(k)) for k, v in matchers.items())
