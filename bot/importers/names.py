"""Names for what the import creates: Watchstander's team and integration names are lower-case slugs."""

from __future__ import annotations

import re


def slug(name: str, limit: int = 40) -> str:
    out = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:limit].strip("-")
    return out or "team"


def unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}-{n}"
        n += 1
    taken.add(candidate)
    return candidate
