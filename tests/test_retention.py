"""Retention: what is past ``retention:`` is pruned, in batches, and nothing open or still needed is.

The bot is driven over HTTP as a user would (alerts in, a click, an incident); then time moves on
and the pruner runs as the daily job runs it.
"""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.alerts.incoming import IncomingAlert, ParsedNotification, Severity
from bot.alerts.ingest import Delivery
from bot.alerts.models import Alert, AlertEvent, AlertGroup
from bot.clock import FAKE_CLOCK_ENV
from bot.config import ConfigError, Retention
from bot.db import Base, create_engine, session_factory
from bot.escalation.models import Escalation, PageRecord
from bot.idempotency import SeenRequest
from bot.incidents.models import Incident, IncidentAlert, TimelineEntry
from bot.monitors.models import LATENCY_BUCKETS_MS, CheckOutage, CheckRollup
from bot.oncall.models import OverrideRow, ShiftSwapRow, SwapStatus
from bot.outbox import OutboxMessage
from bot.retention import Pruner
from bot.slack.ids import AlertAction
from tests.reports import seed
from tests.support.factories import ALICE, T0, TOKENS, am_alert, am_notification, make_config
from tests.support.harness import Harness
from tests.support.process import write_config

DAY = timedelta(days=1)


async def count(h: Harness, model: type[Base]) -> int:
    async with h.bot.services.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def pruner(h: Harness, *, batch: int = 500) -> Pruner:
    return Pruner(sessions=h.bot.services.sessions, clock=h.clock, retention=h.config.retention, batch=batch)


async def fire(h: Harness, *alerts: dict[str, object], key: str = "g") -> None:
    status, body = await h.alertmanager(am_notification(*alerts, group_key=key))
    assert status == 202, body
    await h.drain()


async def test_resolved_alerts_past_retention_go_with_their_history_and_open_ones_stay(harness: Harness) -> None:
    h = harness
    await fire(h, am_alert("DiskFull", fingerprint="old", labels={"severity": "critical"}), key="old")
    [old] = h.slack.messages("platform-alerts")
    as_first_posted = copy.deepcopy(old)  # with its buttons, as someone may still have it on screen
    await h.driver.click(old, AlertAction.ACKNOWLEDGE, user_id=ALICE)
    await fire(h, am_alert("DiskFull", fingerprint="old", status="resolved", labels={"severity": "critical"}),
               key="old")
    await fire(h, am_alert("StillBroken", fingerprint="open", labels={"severity": "high"}), key="open")
    assert await count(h, PageRecord) > 0 and await count(h, OutboxMessage) > 0

    h.clock.advance(399 * DAY)
    report = await pruner(h).run()
    assert "alert_groups" not in report.deleted  # 399 days: still within the 400 kept for the summary
    assert report.deleted.get("outbox", 0) > 0  # sent messages go after 7 days

    h.clock.advance(2 * DAY)
    report = await pruner(h).run()
    assert report.deleted["alert_groups"] == 1 and report.deleted["alerts"] == 1
    assert report.deleted["alert_events"] >= 4  # received, acknowledged, alert_resolved, resolved…
    async with h.bot.services.sessions() as s:
        assert list(await s.scalars(select(AlertGroup.title))) == ["StillBroken"]  # firing: never pruned
        assert {e.group_id for e in await s.scalars(select(AlertEvent))} == {
            await s.scalar(select(AlertGroup.id))}
        assert await s.scalar(select(func.count()).select_from(Escalation)) == 1  # the open alert's
    # Someone clicks a button on the pruned alert's old message: told plainly, nothing breaks.
    await h.driver.click(as_first_posted, AlertAction.ACKNOWLEDGE, user_id=ALICE)
    told = await h.slack.wait_for(lambda: h.slack.ephemerals(ALICE))  # answered after the ack
    assert told[-1].text.startswith(f"alert #{old_id(old)} is not stored: it may be from another install, or "
                                    "resolved and since pruned")
    assert (await pruner(h).run()).total == 0  # a second pass finds nothing


def old_id(message: object) -> int:
    meta = message.metadata
    return int(meta["event_payload"]["group_id"])


async def test_an_alert_linked_to_an_incident_is_kept_as_long_as_the_incident(harness: Harness) -> None:
    h = harness
    async with h.bot.services.sessions() as s, s.begin():
        linked = await seed.alert(s, "PaymentsDown", "critical", T0, resolved_after=timedelta(hours=1))
        inc = Incident(title="Payments down", severity="SEV1", status="resolved", commander=ALICE, reporter=ALICE,
                       channel_name="inc-payments", declared_at=T0, resolved_at=T0 + 100 * DAY, slack_state={})
        s.add(inc)
        await s.flush()
        s.add(IncidentAlert(incident_id=inc.id, group_id=linked.group.id, linked_at=T0, linked_by=ALICE))
        s.add(TimelineEntry(incident_id=inc.id, at=T0, kind="declared", actor=ALICE, text="Declared SEV1"))
    h.clock.set(T0 + 450 * DAY)  # the alert is 450 days resolved, the incident 350
    report = await pruner(h).run()
    assert "alert_groups" not in report.deleted
    assert await count(h, AlertGroup) == 1 and await count(h, Incident) == 1
    h.clock.set(T0 + 501 * DAY)  # now the incident is past its 400 days too: both go
    report = await pruner(h).run()
    assert (report.deleted["incidents"], report.deleted["incident_timeline"], report.deleted["incident_alerts"],
            report.deleted["alert_groups"]) == (1, 1, 1, 1)
    assert await count(h, Incident) == 0 and await count(h, AlertGroup) == 0


async def test_seen_requests_and_sent_messages_go_after_a_week_failed_and_pending_ones_stay(
        harness: Harness) -> None:
    h = harness
    async with h.bot.services.sessions() as s, s.begin():
        s.add_all([SeenRequest(key="slack:Ev0001", at=T0 - 8 * DAY), SeenRequest(key="slack:Ev0002", at=T0 - DAY)])
        for i, (sent, failed) in enumerate([(T0 - 8 * DAY, None), (T0 - DAY, None), (None, T0 - 8 * DAY),
                                            (None, None)]):
            s.add(OutboxMessage(key=f"row-{i}", kind="channel_post", payload={}, created_at=T0 - 9 * DAY,
                                due_at=T0 - 9 * DAY, sent_at=sent, failed_at=failed, attempts=1))
    report = await pruner(h).run()
    assert report.deleted == {"seen_requests": 1, "outbox": 1}
    async with h.bot.services.sessions() as s:
        assert list(await s.scalars(select(SeenRequest.key))) == ["slack:Ev0002"]
        assert sorted(await s.scalars(select(OutboxMessage.key))) == ["row-1", "row-2", "row-3"]


async def test_check_rollups_go_after_a_month_and_outages_with_the_alerts_an_open_one_stays(
        harness: Harness) -> None:
    h = harness
    hours = [T0 - 32 * DAY, T0 - 30 * DAY, T0 - DAY]
    async with h.bot.services.sessions() as s, s.begin():
        s.add_all(CheckRollup(check="api-health", hour=hour, probes=60, failures=0, latency_ms_sum=600.0,
                              buckets=[60] + [0] * len(LATENCY_BUCKETS_MS)) for hour in hours)
        s.add_all([CheckOutage(check="api-health", started_at=T0 - 500 * DAY, ended_at=T0 - 499 * DAY),
                   CheckOutage(check="api-health", started_at=T0 - 500 * DAY, ended_at=None),  # still down
                   CheckOutage(check="api-health", started_at=T0 - 40 * DAY, ended_at=T0 - 40 * DAY + DAY / 24)])
    report = await pruner(h).run()
    assert report.deleted == {"check_rollups": 1, "check_outages": 1}
    async with h.bot.services.sessions() as s:
        assert sorted(await s.scalars(select(CheckRollup.hour))) == hours[1:]
        assert sorted(o.ended_at is None for o in await s.scalars(select(CheckOutage))) == [False, True]


async def test_pruning_goes_in_small_batches_and_ingest_commits_between_them(harness: Harness) -> None:
    h = harness
    async with h.bot.services.sessions() as s, s.begin():
        for i in range(60):
            await seed.alert(s, f"Old{i}", "low", T0 - 500 * DAY, resolved_after=timedelta(minutes=5))
    job = asyncio.create_task(pruner(h, batch=2).run())
    integration = h.config.integrations[0]
    fresh = IncomingAlert(fingerprint="fresh", title="FreshAlert", severity=Severity.HIGH)
    await h.bot.services.writer.submit(Delivery(integration, ParsedNotification((fresh,), group_key="fresh")))
    assert not job.done()  # the alert was stored while the pruner still had batches to go
    report = await job
    assert report.deleted["alert_groups"] == 60 and report.batches == 30
    async with h.bot.services.sessions() as s:
        assert list(await s.scalars(select(Alert.title))) == ["FreshAlert"]


def test_retention_is_read_from_the_config_with_defaults_and_checked() -> None:
    assert make_config().retention == Retention(alerts=400 * DAY, incidents=400 * DAY, seen_requests=7 * DAY,
                                                outbox=7 * DAY)
    assert make_config("retention: {alerts: 90d, outbox: 2d}\n").retention.alerts == 90 * DAY
    with pytest.raises(ConfigError) as err:
        make_config("retention: {seen_requests: 1h}\n")
    assert "retention.seen_requests: keep records at least 1d: Slack and Twilio retry requests for hours" in str(err.value)


async def _seed_ancient(db_url: str) -> None:
    engine = create_engine(db_url)
    async with session_factory(engine)() as s, s.begin():
        await seed.alert(s, "Ancient", "low", T0 - 900 * DAY, resolved_after=timedelta(minutes=5))
        s.add(SeenRequest(key="slack:Ev0003", at=T0 - 30 * DAY))
    await engine.dispose()


def test_watchstander_prune_reports_what_it_deleted(tmp_path: Path, db_url: str) -> None:
    """The command line runs the same pass, at the time the (test) clock file says."""
    asyncio.run(_seed_ancient(db_url))
    (tmp_path / "now").write_text(T0.isoformat())
    env = {**os.environ, "DATABASE_URL": db_url, "WATCHSTANDER_CONFIG": str(write_config(tmp_path)),
           FAKE_CLOCK_ENV: str(tmp_path / "now"), **TOKENS}
    run = subprocess.run([sys.executable, "-m", "bot", "prune"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "pruned 3 alert_events, 1 alert_groups, 1 alerts, 1 seen_requests\n"
    again = subprocess.run([sys.executable, "-m", "bot", "prune"], env=env, capture_output=True, text=True, timeout=60)
    assert again.stdout == "nothing to prune: every record is within its retention\n"


async def test_shift_swaps_go_once_both_shifts_are_past_retention_and_before_their_overrides(harness: Harness) -> None:
    """A swap of 500 days ago goes with the two overrides it made; one whose later shift is recent stays,
    and so does the override it refers to, though that override's own shift is old."""
    h = harness

    def override(start: timedelta, person: str) -> OverrideRow:
        return OverrideRow(team="platform", person=person, starts_at=T0 + start, ends_at=T0 + start + DAY,
                           created_by=ALICE, created_at=T0 - 600 * DAY, reason="swap")

    async with h.bot.services.sessions() as s, s.begin():
        old_a, old_b = override(-500 * DAY, ALICE), override(-498 * DAY, "U0BOB0001")
        kept_a, kept_b = override(-450 * DAY, ALICE), override(-10 * DAY, "U0BOB0001")
        s.add_all([old_a, old_b, kept_a, kept_b])
        await s.flush()
        for a, b in ((old_a, old_b), (kept_a, kept_b)):
            s.add(ShiftSwapRow(team="platform", asker=ALICE, other="U0BOB0001", asker_start=b.starts_at,
                               asker_end=b.ends_at, other_start=a.starts_at, other_end=a.ends_at,
                               status=SwapStatus.ACCEPTED, created_at=T0 - 600 * DAY, decided_at=T0 - 600 * DAY,
                               asker_override_id=a.id, other_override_id=b.id))
    report = await pruner(h).run()
    assert report.deleted == {"shift_swaps": 1, "oncall_overrides": 2}
    async with h.bot.services.sessions() as s:
        [swap] = await s.scalars(select(ShiftSwapRow))
        assert (swap.asker_override_id, swap.other_override_id) == (kept_a.id, kept_b.id)
        assert sorted(await s.scalars(select(OverrideRow.id))) == [kept_a.id, kept_b.id]
