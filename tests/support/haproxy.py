"""A real HAProxy in front of several `watchstander serve` replicas, as the README's sample sets it up:
round robin, each replica checked with ``GET /readyz`` every half second and taken out after two
failed checks. Skips the test when ``haproxy`` is not installed."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.support.process import free_port

CHECK_INTERVAL_MS = 500


def haproxy_config(port: int, backends: Sequence[int], *, stats_port: int) -> str:
    """The README's two-replica sample, on 127.0.0.1 ports (checks faster than in production)."""
    servers = "".join(f"    server bot{n} 127.0.0.1:{backend} check\n" for n, backend in enumerate(backends, 1))
    return f"""\
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    retry-on conn-failure empty-response 503

frontend watchstander
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter {CHECK_INTERVAL_MS}ms fall 2 rise 1
{servers}
frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"""


@dataclass
class HAProxy:
    url: str
    stats_url: str
    proc: asyncio.subprocess.Process
    log: Path

    async def servers_up(self) -> set[str]:
        """The backends HAProxy's health checks currently count as up (from its CSV statistics)."""
        async with aiohttp.ClientSession() as http, http.get(self.stats_url + ";csv") as resp:
            lines = (await resp.text()).splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {r["svname"] for r in rows if r["pxname"] == "replicas" and r["svname"].startswith("bot")
                and r["status"] == "UP"}

    async def until_up(self, *names: str, within: float = 30) -> None:
        """Wait (bounded) until exactly the backends ``names`` (``bot1``, ``bot2``…) pass their health checks."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + within
        while (up := await self.servers_up()) != set(names):
            if loop.time() > give_up:
                raise AssertionError(f"HAProxy counts {sorted(up)} up, not {sorted(names)}:\n" + self.log.read_text())
            await asyncio.sleep(CHECK_INTERVAL_MS / 4000)


@asynccontextmanager
async def haproxy(directory: Path, backends: Sequence[int]) -> AsyncIterator[HAProxy]:
    """HAProxy on a free 127.0.0.1 port balancing over ``backends`` (ports), stopped afterwards."""
    binary = shutil.which("haproxy", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if binary is None:
        pytest.skip("haproxy is not installed")
    port, stats_port = free_port(), free_port()
    cfg = directory / "haproxy.cfg"
    cfg.write_text(haproxy_config(port, backends, stats_port=stats_port))
    log = directory / "haproxy.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(binary, "-f", str(cfg), "-db", stdout=sink, stderr=sink)
    proxy = HAProxy(url=f"http://127.0.0.1:{port}", stats_url=f"http://127.0.0.1:{stats_port}/stats", proc=proc,
                    log=log)
    try:
        await _listening(proxy)
        yield proxy
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


async def _listening(proxy: HAProxy, within: float = 15) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while True:
        if proxy.proc.returncode is not None:
            raise AssertionError(f"haproxy exited with {proxy.proc.returncode}:\n{proxy.log.read_text()}")
        try:
            await proxy.servers_up()
            return
        except aiohttp.ClientError:
            if loop.time() > give_up:
                raise AssertionError("haproxy never answered:\n" + proxy.log.read_text()) from None
            await asyncio.sleep(0.05)
