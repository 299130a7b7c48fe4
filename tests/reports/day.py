"""One known day of history for the daily digest, and what the digest must say about it.

The digest due Thursday 3 Dec 2026 08:30 Berlin (07:30Z) covers Wednesday 2 Dec, 00:00 CET
(1 Dec 23:00Z) → Thursday 3 Dec 00:00 CET (2 Dec 23:00Z).

Raised yesterday (5 real, most severe first, then in the order they came):
  🔴 PaymentsDown        critical  2 Dec 09:00Z  resolved   payments
  🟠 SlowResponses       high      2 Dec 12:00Z  acknowledged  platform
  🟡 QueueBacklog        medium    2 Dec 22:59Z  firing     platform
  🔵 MidnightBackup      low       1 Dec 23:00Z  resolved   platform   (00:00 CET: the day's first instant)
  🔵 DiskCleanup         low       2 Dec 15:00Z  resolved   platform
Not yesterday: LateTuesday (1 Dec 22:59Z, 23:59 CET Tuesday), EarlyThursday (2 Dec 23:00Z, 00:00 CET
Thursday), BackupFailed (30 Nov). Not counted at all: a test alert raised at 2 Dec 10:00Z, still open.

Open at 08:30 (4, oldest first): BackupFailed (high, since Mon 30 Nov 11:00 CET, 2d 21h 30m),
  SlowResponses (high, 19h 30m), QueueBacklog (medium, 8h 31m), EarlyThursday (info, 8h 30m).

On call today: platform (weekly, Mon 09:00, from 2 Nov: Alice, Bob, Carol; backup Bob, Carol, Alice):
  the week of 30 Nov is the fifth, so Bob primary and Carol backup; an override puts Alice on as
  primary from 12:00 to 13:00 CET. payments has no schedule; an override puts Dave on 14:00–18:00 CET.

Checks: api-health down since 3 Dec 05:00Z (06:00 CET), 2h 30m, "HTTP 503"; internal-db failing
  but not yet for down_after (no alert): not down; shop-tls's certificate expires 20 Dec, within
  its 30d; cdn-tls's expires in 60 days: not listed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import OWN_INTEGRATION
from bot.db import transaction
from bot.monitors.models import FRESH, MonitorState
from bot.oncall.models import OverrideRow
from tests.reports import seed
from tests.support.factories import ALICE, DAVE

DUE = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)  # Thursday 08:30 in Berlin
DAY_START = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
DAY_END = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
M = timedelta(minutes=1)
CHECKS = """
daily_summary: {channel: ops, email: [eng@example.com]}
checks:
  - {name: api-health, url: "http://127.0.0.1:9/health", every: 1m, team: platform}
  - {name: internal-db, url: "http://127.0.0.1:9/db", every: 1m}
  - {name: shop-tls, tls: "shop.example.com:443", every: 1h}
  - {name: cdn-tls, tls: "cdn.example.com", every: 1h}
"""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in December 2026, UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


async def seed_day(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as s:
        await seed.alert(s, "BackupFailed", "high", datetime(2026, 11, 30, 10, 0, tzinfo=UTC), service="db")
        await seed.alert(s, "LateTuesday", "high", at(1, 22, 59), resolved_after=5 * M)
        await seed.alert(s, "MidnightBackup", "low", at(1, 23), resolved_after=M)
        await seed.alert(s, "PaymentsDown", "critical", at(2, 9), team="payments", acked_after=2 * M,
                         resolved_after=40 * M)
        await seed.alert(s, "SlowResponses", "high", at(2, 12), acked_after=3 * M, acked_by=ALICE)
        await seed.alert(s, "DiskCleanup", "low", at(2, 15), resolved_after=10 * M)
        await seed.alert(s, "QueueBacklog", "medium", at(2, 22, 59))
        await seed.alert(s, "EarlyThursday", "info", at(2, 23))
        await test_alert(s, at(2, 10))
        s.add(OverrideRow(team="platform", person=ALICE, starts_at=at(3, 11), ends_at=at(3, 12), created_by=ALICE,
                          created_at=at(1, 9)))
        s.add(OverrideRow(team="payments", person=DAVE, starts_at=at(3, 13), ends_at=at(3, 17), created_by=DAVE,
                          created_at=at(1, 9)))
        await check_states(s)


async def test_alert(s: AsyncSession, when: datetime) -> None:
    """A test alert as ``POST /api/test`` stores it (kept open): Watchstander's integration, ``test/`` key."""
    found = await seed.alert(s, "Watchstander test alert", "critical", when)
    found.group.integration = found.alert.integration = OWN_INTEGRATION
    found.group.group_key = found.alert.fingerprint = "test/0001"


async def check_states(s: AsyncSession) -> None:
    since = at(1, 0)

    def state(name: str, **fields: object) -> MonitorState:
        return MonitorState(**{"key": f"check/{name}", "watching_since": since, "next_due_at": DUE, **FRESH,
                               "last_probe_at": DUE - M, **fields})

    # merge: a running bot registered its checks' rows at start
    await s.merge(state("api-health", down_since=at(3, 5), alerted=True, last_error="HTTP 503",
                        last_failure_at=DUE - M))
    await s.merge(state("internal-db", down_since=DUE - M, alerted=False, last_error="timed out after 10s"))
    await s.merge(state("shop-tls", cert_expires_at=datetime(2026, 12, 20, 12, 0, tzinfo=UTC), expiry_alerted=True))
    await s.merge(state("cdn-tls", cert_expires_at=DUE + timedelta(days=60)))
