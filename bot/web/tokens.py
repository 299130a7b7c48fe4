"""Tokens that callers send: reading a Bearer credential, and comparing a token in constant time."""

from __future__ import annotations

import hmac

from aiohttp import web


def same_token(given: str, expected: str) -> bool:
    """``given == expected`` in constant time. Header and query bytes that were not UTF-8 arrive as
    lone surrogates; ``surrogatepass`` compares them as the bytes they were instead of raising."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def bearer_token(request: web.Request) -> str | None:
    """The credential of ``Authorization: Bearer <token>`` (the scheme in any case), or None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
