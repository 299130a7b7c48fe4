"""Local endpoints for the check tests: an HTTP server that goes down, slows down and comes back,
and TLS servers with short-lived certificates from a throwaway CA (trustme)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trustme
from aiohttp import web


@dataclass
class Endpoint:
    """What the endpoint answers next; tests change it between probes."""

    status: int = 200
    body: str = '{"status":"ok"}'
    delay: float = 0.0  # seconds before answering
    hits: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append(request.method)
        if self.delay:
            await asyncio.sleep(self.delay)  # the endpoint itself is slow: real latency for the probe
        return web.Response(status=self.status, text=self.body, content_type="application/json")


@asynccontextmanager
async def http_endpoint() -> AsyncIterator[Endpoint]:
    endpoint = Endpoint()
    app = web.Application()
    app.router.add_route("*", "/health", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    endpoint.url = f"http://127.0.0.1:{runner.addresses[0][1]}/health"
    try:
        yield endpoint
    finally:
        await runner.cleanup()


@asynccontextmanager
async def tls_server(cert: trustme.LeafCert) -> AsyncIterator[int]:
    """A TLS server on 127.0.0.1 serving ``cert``; it completes the handshake and closes. Yields its port."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ctx)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


