"""Work started by a request that goes on after the request was answered (Slack's 3-second rule).

Listeners ack Slack first and finish their work afterwards; ``Bot.drain()`` waits for that work,
so tests and the demo know when a click has fully taken effect without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Inflight:
    def __init__(self) -> None:
        self._count = 0
        self._idle: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    async def __aenter__(self) -> None:
        self._count += 1
        self._event().clear()

    async def __aexit__(self, *_exc: object) -> None:
        self._count -= 1
        if self._count == 0:
            self._event().set()

    async def wait_idle(self) -> None:
        await self._event().wait()

    def track(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        """Wrap a listener; the wrapper keeps its signature, which Bolt reads to pass arguments."""

        @functools.wraps(fn)
        async def tracked(*args: P.args, **kwargs: P.kwargs) -> R:
            async with self:
                return await fn(*args, **kwargs)

        return tracked


async def finish(task: asyncio.Task[None], patience: float) -> None:
    """Wait for a loop that was asked to stop to end its pass; cancel it if it takes longer."""
    try:
        await asyncio.wait_for(task, timeout=patience)
    except TimeoutError:  # wait_for has cancelled it
        with contextlib.suppress(asyncio.CancelledError):
            await task
