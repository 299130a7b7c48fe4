"""What a probe of a check found, and whether a body meets the check's ``expect``.

The probing itself (aiohttp for HTTP, ``ssl`` for TLS) is an edge: ``bot.web.probes``. The runner
(``bot.monitors.runner``) is handed a :data:`Probe` by the composition root.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Check, Expect


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    latency_ms: float | None  # None when nothing answered
    status: int | None = None  # HTTP status
    error: str | None = None
    cert_expires_at: datetime | None = None  # TLS: the earliest notAfter in the served chain
    cert_subject: str | None = None


def _json_path(data: object, path: str) -> tuple[bool, object]:
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False, None
    return True, data


def body_problem(expect: Expect, body: bytes) -> str | None:
    """Why the body does not meet ``expect``, or None."""
    if expect.body_contains is not None and expect.body_contains.encode() not in body:
        return f"the body does not contain {expect.body_contains!r}"
    if expect.body_json is not None:
        try:
            data = json.loads(body)
        except ValueError:
            return "the body is not JSON"
        found, value = _json_path(data, expect.body_json.path)
        if not found:
            return f"the JSON body has no {expect.body_json.path!r}"
        if value != expect.body_json.equals:
            return f"{expect.body_json.path} is {json.dumps(value)[:80]}, expected {json.dumps(expect.body_json.equals)}"
    return None


Probe = Callable[[Check], Awaitable[ProbeResult]]
"""Probe one check; never raises (a failure is a failed result)."""
