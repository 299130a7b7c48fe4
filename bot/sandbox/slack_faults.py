"""What a test makes go wrong in the Slack stand-in: a method that fails the next N times (with
Slack's error, a 5xx or a rate limit), or a call kept waiting until the test releases it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.sandbox.slack_records import JSON


@dataclass
class Hold:
    """A call kept waiting: ``reached`` once it arrived, answered when :meth:`release` is called."""
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    matching: Callable[[JSON], bool] | None = None
    done_first: bool = False  # do the call, then withhold only the answer

    def release(self) -> None:
        self.released.set()


@dataclass
class _Drop:
    method: str
    remaining: int
    matching: Callable[[JSON], bool] | None


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None
    remaining: int = field(default=1)


class Faults:
    """The faults queued per Web API method (``"*"``: any method) and the calls to hold."""

    def __init__(self) -> None:
        self._faults: dict[str, list[_Fault]] = {}
        self._holds: dict[str, Hold] = {}
        self._drops: list[_Drop] = []

    def fail_next(
        self, method: str, *, error: str = "internal_error", status: int = 200, retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"``: any method) fail.

        ``status=429`` answers like Slack's rate limiter (``ratelimited`` plus ``Retry-After``,
        1 s unless given); 5xx statuses carry ``{"ok": false, "error": error}``.
        """
        if status == 429 and error == "internal_error":
            error = "ratelimited"
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.setdefault(method, []).append(_Fault(error, status, retry_after, times))

    def hold(self, method: str, *, matching: Callable[[JSON], bool] | None = None, done_first: bool = False) -> Hold:
        """Keep the next call of ``method`` (whose arguments satisfy ``matching``) waiting, unanswered,
        until the returned hold is released: a Slack that is slow at exactly the moment a test needs (a
        shutdown mid-post, say). ``done_first``: the call is done (the post is in the channel) and only
        its answer waits — the moment between Slack accepting a post and the bot hearing back."""
        self._holds[method] = hold = Hold(matching=matching, done_first=done_first)
        return hold

    def drop_response_next(self, method: str, *, times: int = 1,
                           matching: Callable[[JSON], bool] | None = None) -> None:
        """Do the next ``times`` calls of ``method`` (whose arguments satisfy ``matching``), then reset the
        connection instead of answering.

        What a client sees when Slack accepted a post and the network (or the bot's process) died
        before the answer arrived: the message is there, and the client does not know its ``ts``.
        """
        self._drops.append(_Drop(method, times, matching))

    def take_drop(self, method: str, args: JSON, body: JSON) -> bool:
        if not body.get("ok"):
            return False
        for drop in self._drops:
            if drop.method == method and (drop.matching is None or drop.matching(args)):
                drop.remaining -= 1
                if drop.remaining <= 0:
                    self._drops.remove(drop)
                return True
        return False

    def take(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key) or []
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                return fault
        return None

    def take_hold(self, method: str, args: JSON) -> Hold | None:
        held = self._holds.get(method)
        if held is None or (held.matching is not None and not held.matching(args)):
            return None
        return self._holds.pop(method)
