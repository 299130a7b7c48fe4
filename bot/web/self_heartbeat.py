"""``self_heartbeat``: Watchstander proves it is alive to something outside it (a dead man's switch
such as healthchecks.io or Cronitor, or a second Watchstander's ``/heartbeat/<name>``).

Every ``every`` it requests the URL, but only while it is ready by its own ``/readyz`` standard
(database reachable, escalation runner, dispatcher and scheduler going round): a bot that is up but
cannot page must look dead from outside. The URL is a credential and is never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bot.config import SelfHeartbeat
from bot.web.health import readiness

log = logging.getLogger(__name__)
JOB_ID = "self_heartbeat"


@dataclass
class SelfPinger:
    monitor: SelfHeartbeat
    app: web.Application
    sent: int = 0
    skipped: int = 0
    failed: int = 0

    async def ping_once(self) -> bool:
        """One ping if healthy; True when the URL answered 2xx."""
        problems, _loops = await readiness(self.app)
        if problems:
            self.skipped += 1
            log.warning("self_heartbeat: not pinging while unready: %s", "; ".join(f"{k}: {v}" for k, v in
                                                                                 sorted(problems.items())))
            return False
        timeout = aiohttp.ClientTimeout(total=self.monitor.timeout.total_seconds())
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http, \
                    http.get(self.monitor.url, allow_redirects=True) as resp:
                await resp.read()
                ok = resp.status < 300
                status = f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            ok, status = False, type(exc).__name__
        if ok:
            self.sent += 1
            return True
        self.failed += 1
        log.warning("self_heartbeat: the dead man's switch did not take the ping: %s", status)
        return False

    async def job(self) -> None:
        try:
            await self.ping_once()
        except Exception:  # the next ping retries; a failure must not stop the schedule
            log.exception("the self_heartbeat job failed")
