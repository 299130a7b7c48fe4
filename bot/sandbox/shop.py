"""A stand-in web shop for the demo: a health endpoint on 127.0.0.1 that an uptime check probes,
and that the demo takes down and brings back."""

from __future__ import annotations

from types import TracebackType

from aiohttp import web


class ShopStandIn:
    def __init__(self) -> None:
        self.status = 200  # what /health answers next
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def health(self, _request: web.Request) -> web.Response:
        body = '{"status":"ok"}' if self.status == 200 else '{"status":"unavailable"}'
        return web.Response(status=self.status, text=body, content_type="application/json")

    async def __aenter__(self) -> ShopStandIn:
        app = web.Application()
        app.router.add_get("/health", self.health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/health"
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
