"""The plumbing both stand-ins share: a real aiohttp server on loopback, and event-driven waiting.

The stand-ins are served over real HTTP (not patched clients) so the bot's real SDK clients, retry
handlers and connection handling are what the tests exercise.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar, cast

from aiohttp import web

T = TypeVar("T")


class ChangeSignal:
    """Lets tests await "the bot has done X" without sleep-polling.

    Every handler that changes recorded state calls :meth:`changed`; :meth:`wait_for` re-checks its
    predicate only then, so a test wakes up exactly when the call it waits for arrives.
    """

    def __init__(self) -> None:
        self._condition = asyncio.Condition()

    async def changed(self) -> None:
        async with self._condition:
            self._condition.notify_all()

    async def wait_for(self, predicate: Callable[[], T | None], within: float, describe: Callable[[], str]) -> T:
        """Return the predicate's first truthy value; after ``within`` seconds raise with ``describe()``.

        The stand-ins expose this with a ``timeout`` parameter (against ruff's ASYNC109) on purpose:
        a test that times out should say what the stand-in saw, which a bare asyncio.timeout()
        around the call could not.
        """
        try:
            async with asyncio.timeout(within), self._condition:
                return cast(T, await self._condition.wait_for(predicate))
        except TimeoutError:
            raise TimeoutError(f"condition not met within {within}s; {describe()}") from None


class SandboxServer:
    """Starts an aiohttp application on a loopback port chosen by the OS.

    Binding the socket ourselves (instead of ``TCPSite(port=0)``) is what lets us learn the port
    without reaching into aiohttp's private attributes.
    """

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None

    def build_app(self) -> web.Application:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already running at {self.base_url}")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        runner = web.AppRunner(self.build_app(), access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runner = runner
        self._host = host
        self._port = sock.getsockname()[1]
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        """``http://host:port`` without a trailing slash."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started; call start() or use 'async with'")
        return f"http://{self._host}:{self._port}"

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
