"""A stand-in of a vendor's REST API for the import tests: a real aiohttp server on 127.0.0.1
serving the recorded responses of a fixture folder, with the vendor's auth header checked, its
own pagination, and a fault that can be switched on for one path."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from bot.config import load_config
from bot.importers.compare import watchstander_primaries
from bot.importers.mapping import map_export
from bot.importers.model import Export
from bot.importers.timeline import final_shifts, holder
from bot.sandbox.http_server import SandboxServer
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack_records import SandboxUser
from bot.sandbox.slack_scopes import AppGrants

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = "2027-03-10T12:00:00+00:00"  # a Wednesday; US clocks go forward on the 14th, European on the 28th


@dataclass
class Paging:
    """How the vendor pages lists: ``style`` "offset" (PagerDuty: offset/limit/more)."""

    style: str
    size: int = 4


@dataclass
class VendorStandIn(SandboxServer):
    folder: Path
    auth: str  # the exact Authorization header the vendor wants
    list_keys: dict[str, str]  # path → the key holding the list, for the paged endpoints
    paging: Paging
    faults: dict[str, int] = field(default_factory=dict)  # path → HTTP status to answer with
    requests: list[str] = field(default_factory=list)
    prefix: str = ""  # the API path's version prefix, not in the fixture's file names ("/v2")
    flaky: dict[str, int] = field(default_factory=dict)  # path → how many more times to answer 429 first
    garbage: set[str] = field(default_factory=set)  # paths answered 200 with a body that is not JSON

    def __post_init__(self) -> None:
        super().__init__()

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        return app

    async def _serve(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        self.requests.append(path)
        if request.headers.get("Authorization") != self.auth:
            return web.json_response({"error": {"message": "Unauthorized", "code": 2006}}, status=401)
        if self.flaky.get(path, 0) > 0:
            self.flaky[path] -= 1
            return web.json_response({"error": {"message": "Rate Limit Exceeded"}}, status=429,
                                     headers={"Retry-After": "0"})
        if path in self.garbage:
            return web.Response(text="<html>upstream timed out</html>", content_type="text/html")
        if path in self.faults:
            return web.json_response({"error": {"message": "boom"}}, status=self.faults[path],
                                     headers={"Retry-After": "0"})
        file = self.folder / f"{path.removeprefix(self.prefix).strip('/')}.json"
        if not file.exists():
            return web.json_response({"error": {"message": "Not Found", "code": 2100}}, status=404)
        body = json.loads(file.read_text(encoding="utf-8"))
        if path in self.list_keys:
            body = self._page(body, self.list_keys[path], request)
        return web.json_response(body)

    def _page(self, body: dict[str, object], key: str, request: web.Request) -> dict[str, object]:
        items = body[key]
        assert isinstance(items, list)
        if self.paging.style == "page":  # Grafana OnCall: ?page=N, the next page as a whole URL
            n = int(request.query.get("page", "1"))
            size = self.paging.size
            more = n * size < len(items)
            return {**body, key: items[(n - 1) * size:n * size], "count": len(items), "page_size": size,
                    "current_page_number": n, "total_pages": -(-len(items) // size),
                    "next": f"{self.base_url}{request.path}?page={n + 1}" if more else None,
                    "previous": f"{self.base_url}{request.path}?page={n - 1}" if n > 1 else None}
        offset = int(request.query.get("offset", "0"))
        limit = min(int(request.query.get("limit", "25")), self.paging.size)
        page = items[offset:offset + limit]
        more = offset + limit < len(items)
        if self.paging.style == "offset":
            return {**body, key: page, "offset": offset, "limit": limit, "more": more}
        paging = {"first": f"{self.base_url}{request.path}?limit={limit}&offset=0"}
        if more:  # Opsgenie: the next page as a whole URL
            paging["next"] = f"{self.base_url}{request.path}?limit={limit}&offset={offset + limit}"
        return {**body, key: page, "paging": paging}


PAGERDUTY_LISTS = {"/users": "users", "/teams": "teams", "/schedules": "schedules",
                   "/escalation_policies": "escalation_policies", "/services": "services"}

OPSGENIE_LISTS = {"/v2/users": "data", "/v2/escalations": "data", "/v2/integrations": "data"}

GRAFANA_LISTS = {f"/api/v1/{name}/": "results" for name in (
    "users", "personal_notification_rules", "teams", "on_call_shifts", "schedules", "escalation_policies",
    "escalation_chains", "routes", "integrations")}

# The Slack workspace the people are found in: everyone but the contractor.
SLACK_PEOPLE = [
    SandboxUser(id="U0ALICE01", name="alice", real_name="Alice Berger", tz="Europe/Berlin", email="alice@example.com"),
    SandboxUser(id="U0BRUNO01", name="bruno", real_name="Bruno Costa", tz="Europe/Lisbon", email="bruno@example.com"),
    SandboxUser(id="U0CHLOE01", name="chloe", real_name="Chloé Dubois", tz="Europe/Paris", email="chloe@example.com"),
    SandboxUser(id="U0DMITRI1", name="dmitri", real_name="Dmitri Ivanov", tz="Europe/Berlin",
                email="Dmitri@Example.com"),
    SandboxUser(id="U0EMMA001", name="emma", real_name="Emma Johnson", tz="America/New_York", email="emma@example.com"),
    SandboxUser(id="U0FARID01", name="farid", real_name="Farid Haddad", tz="America/Chicago", email="farid@example.com"),
    SandboxUser(id="U0GRACE01", name="grace", real_name="Grace Kim", tz="America/Los_Angeles",
                email="grace@example.com"),
    SandboxUser(id="U0HIRO001", name="hiro", real_name="Hiro Tanaka", tz="Asia/Tokyo", email="hiro@example.com"),
    SandboxUser(id="U0INES001", name="ines", real_name="Ines Moreau", tz="Europe/London", email="ines@example.com"),
    SandboxUser(id="U0JONAS01", name="jonas", real_name="Jonas Weber", tz="Europe/London", email="jonas@example.com"),
    SandboxUser(id="U0KAVYA01", name="kavya", real_name="Kavya Rao", tz="Asia/Kolkata", email="kavya@example.com"),
]


@dataclass
class Ran:
    code: int
    out: str
    err: str


async def run_cli(args: Sequence[str], env: dict[str, str], cwd: Path) -> Ran:
    """``python -m bot …`` as a user runs it, in its own process."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WATCHSTANDER_", "DATABASE_URL"))}
    full.update({"PYTHONPATH": str(ROOT), **env})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=cwd, env=full,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())



@dataclass
class World:
    """A vendor's stand-in, the Slack stand-in with the people to look up, and a folder to import into."""

    vendor: VendorStandIn
    slack: SlackStandIn
    tmp: Path
    vendor_args: Callable[[str], list[str]]  # the vendor and its credentials, given the stand-in's URL

    @property
    def env(self) -> dict[str, str]:
        return {"SLACK_BOT_TOKEN": self.slack.bot_token, "SLACK_API_URL": self.slack.api_url,
                "DATABASE_URL": f"sqlite+aiosqlite:///{self.tmp / 'ws.db'}",
                "WATCHSTANDER_CONFIG": str(self.tmp / "watchstander.yaml")}

    def api(self, *mode: str) -> list[str]:
        return ["import", *self.vendor_args(self.vendor.base_url), *mode, "--now", NOW]


@asynccontextmanager
async def world_of(tmp: Path, vendor: VendorStandIn, vendor_args: Callable[[str], list[str]]) -> AsyncIterator[World]:
    async with SlackStandIn(users=SLACK_PEOPLE, grants=AppGrants.everything()) as slack:
        await vendor.start()
        try:
            yield World(vendor, slack, tmp, vendor_args)
        finally:
            await vendor.stop()


def succeeded(ran: Ran, secret: str) -> str:
    """The output of a run that worked, said no traceback and never printed the credential."""
    assert ran.code == 0, ran.err + ran.out
    assert "Traceback" not in ran.err
    assert secret not in ran.out + ran.err
    return ran.out


async def same_primaries(world: World, export: Export, target: Path, env: Mapping[str, str],
                         hand: Sequence[tuple[str, str, str]] = ()) -> dict[str, list[str | None]]:
    """The bot's primary, with the config written to ``target``, equals the source schedule's at 30
    instants over four weeks (every hour of the day comes round) for each mapped schedule, and the
    instants worked out by hand in ``hand`` (team, ISO instant, Slack id). Returns what the source
    says per team, for checks of its own."""
    at = datetime.fromisoformat(NOW)
    mapped = map_export(export, now=at, public_url="https://x")
    config = load_config(target, env=env)
    instants = [at + i * timedelta(hours=22, minutes=23) for i in range(30)]
    url = world.env["DATABASE_URL"]
    expected_by_team: dict[str, list[str | None]] = {}
    for schedule in export.schedules:
        team = mapped.team_of_schedule.get(schedule.vendor_id)
        if team is None:
            continue
        theirs = final_shifts(schedule, at - timedelta(days=1), at + timedelta(weeks=5), export.overrides)
        expected = [export.person(h).slack_id if (h := holder(theirs, i)) and export.person(h) else None
                    for i in instants]
        assert await watchstander_primaries(config, base_dir=world.tmp, database_url=url, team=team,
                                            instants=instants) == expected, team
        expected_by_team[team] = expected
    for team, when, who in hand:
        got = await watchstander_primaries(config, base_dir=world.tmp, database_url=url, team=team,
                                           instants=[datetime.fromisoformat(when)])
        assert got == [who], (team, when)
    return expected_by_team
