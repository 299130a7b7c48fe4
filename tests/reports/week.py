"""One known week of on-call history, and the figures it must produce (worked out by hand below).

The summary due Monday 23 Nov 2026 09:00 Berlin covers Mon 16 Nov 08:00Z → Mon 23 Nov 08:00Z.

This week (10 alerts): critical 4, high 3, medium 3. The week before (7): critical 2, high 2, low 3.

Time to acknowledge, 6 acknowledged: 1m 2m 4m 6m 10m 30m.
  nearest rank: p50 = value #⌈3.0⌉ = #3 = 4m;  p90 = value #⌈5.4⌉ = #6 = 30m.
  (linear interpolation would say 5m and 20m — the test tells the methods apart.)
Time to resolve, 9 resolved: 3m 10m 10m 10m 10m 20m 30m 1h 2h.
  p50 = #⌈4.5⌉ = #5 = 10m;  p90 = #⌈8.1⌉ = #9 = 2h.
Critical acknowledged within 5m: c1 2m yes, c2 10m no, c3 4m yes; c4 resolved on its own after 3m
  (never needed an ack) → 2 of 3 = 67%.
Pages (one per person, alert and instant):
  Alice (Berlin): c1 Tue 11:00 in hours; c2 Wed 03:00 and 03:05 (SMS) out; c3 Thu 20:30 out; h2 Sat out
    → 5 pages, 4 out of hours, 1 by SMS.
  Bob (New York): c2 step 3 Tue 21:10 by SMS and Slack at once → one page, out; c3 Thu 14:30 in hours
    → 2 pages, 1 out of hours, 1 by SMS.   (c3: Alice and Bob paged at the same UTC instant.)
  Carol (no zone → Berlin): h1 Tue 13:00 in hours → 1 page.
  The @here post for h2 at step 4 pages no person.
Escalations reaching SMS or step 3+: h2 (step 4), c2 (step 3, SMS).
Noisiest: SlowResponses (api) 1+4 repeats = 5; HighErrorRate (api) c1 1+2 and c3 1 = 4;
  QueueBacklog (worker) 3; then DatabaseDown (db) 1, DiskAlmostFull (db) 1.
Flapping: QueueBacklog fired 3 times in 8 h.
Incidents: SEV1 Payments failing 1h 30m, post-mortem done; SEV2 Slow API responses 4h, pending;
  SEV2 Disk pressure on db ongoing for 1h; a SEV3 of the week before is not listed.
Open longer than 24 h: BackupFailed, raised Fri 13 Nov 10:00Z.
Next week: platform primary Alice, backup Bob, until Mon 30 Nov 09:00 CET.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from tests.reports import seed
from tests.support.factories import ALICE, BOB, CAROL

DUE = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
M = timedelta(minutes=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def seed_week(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as s:
        await _previous_week(s)
        c1 = await seed.alert(s, "HighErrorRate", "critical", at(17, 10), service="api", fingerprint="api-errors",
                              acked_after=2 * M, acked_by=ALICE, resolved_after=20 * M, repeats=2)
        h1 = await seed.alert(s, "SlowResponses", "high", at(17, 12), service="api", acked_after=1 * M,
                              acked_by=CAROL, resolved_after=10 * M, repeats=4)
        c2 = await seed.alert(s, "PaymentsDown", "critical", at(18, 2), service="payments", acked_after=10 * M,
                              acked_by=BOB, resolved_after=60 * M)
        for hour in (1, 5, 9):
            await seed.alert(s, "QueueBacklog", "medium", at(19, hour), service="worker", fingerprint="queue",
                             resolved_after=10 * M)
        c3 = await seed.alert(s, "HighErrorRate", "critical", at(19, 19, 30), service="api", fingerprint="api-errors",
                              acked_after=4 * M, acked_by=ALICE, resolved_after=30 * M)
        await seed.alert(s, "DatabaseDown", "critical", at(20, 9), service="db", resolved_after=3 * M)
        h2 = await seed.alert(s, "TLSCertificateExpiry", "high", at(21, 3), service="edge", acked_after=30 * M,
                              acked_by=ALICE, resolved_after=120 * M)
        await seed.alert(s, "DiskAlmostFull", "high", at(22, 20), service="db", acked_after=6 * M, acked_by=CAROL)

        seed.page(s, c1, ALICE, "slack", at(17, 10), step=1)
        seed.page(s, h1, CAROL, "slack", at(17, 12), step=1)
        seed.page(s, c2, ALICE, "slack", at(18, 2), step=1)
        seed.page(s, c2, ALICE, "sms", at(18, 2, 5), step=2)
        seed.page(s, c2, BOB, "sms", at(18, 2, 10), step=3)
        seed.page(s, c2, BOB, "slack", at(18, 2, 10), step=3)
        seed.page(s, c3, ALICE, "slack", at(19, 19, 30), step=1)
        seed.page(s, c3, BOB, "slack", at(19, 19, 30), step=1)
        seed.page(s, h2, ALICE, "slack", at(21, 3), step=1)
        seed.page(s, h2, None, "channel", at(21, 3, 20), step=4)

        seed.incident(s, "Payments failing", "SEV1", at(18, 2, 15), resolved_after=90 * M, postmortem_done=True)
        seed.incident(s, "Slow API responses", "SEV2", at(22, 21), resolved_after=4 * 60 * M)
        seed.incident(s, "Disk pressure on db", "SEV2", at(23, 7))


async def _previous_week(s: AsyncSession) -> None:
    await seed.alert(s, "HighErrorRate", "critical", at(10, 10), service="api", acked_after=3 * M,
                     resolved_after=15 * M)
    await seed.alert(s, "PaymentsDown", "critical", at(11, 10), service="payments", acked_after=3 * M,
                     resolved_after=15 * M)
    await seed.alert(s, "SlowResponses", "high", at(12, 10), service="api", resolved_after=15 * M)
    await seed.alert(s, "BackupFailed", "high", at(13, 10), service="db")  # still open
    for day in (14, 15, 16):
        await seed.alert(s, "CertificateRenewed", "low", at(day, 6), service="edge", resolved_after=M)
    seed.incident(s, "Cache stampede", "SEV3", at(12, 10), resolved_after=60 * M, postmortem_done=True)
