"""Shared fixtures: the Slack and Twilio stand-ins, and a bot served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.db import _upgrade_sync
from bot.sandbox.slack import SandboxUser, SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from tests.support.factories import ALICE, BOB, CAROL, DAVE, T0
from tests.support.harness import Harness, start_harness

pytest_plugins = ["tests.support.postgres"]  # postgres_server, pg_url

CHANNELS = ("alerts", "incidents", "ops-weekly", "platform-alerts", "payments-alerts")
USERS = [
    SandboxUser(id=ALICE, name="alice", real_name="Alice", tz="Europe/Berlin"),
    SandboxUser(id=BOB, name="bob", real_name="Bob", tz="America/New_York"),
    SandboxUser(id=CAROL, name="carol", real_name="Carol", tz="Europe/London"),
    SandboxUser(id=DAVE, name="dave", real_name="Dave", tz="Asia/Tokyo"),
    SandboxUser(id="U0ADMIN01", name="admin", real_name="Admin", tz="UTC", is_admin=True),
]


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated with Alembic; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path: Path, migrated_db: Path) -> str:
    target = tmp_path / "watchstander.db"
    shutil.copy(migrated_db, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def slack(clock: ManualClock) -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(channels=CHANNELS, users=USERS, trigger_ttl=None) as stand_in:
        yield stand_in


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpStandIn]:
    """The SMTP stand-in (plain, no login), recording every email."""
    async with SmtpStandIn() as stand_in:
        yield stand_in


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url) as h:
        yield h
