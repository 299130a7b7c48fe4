"""Every request from Slack is verified: signed ones act, unsigned, forged and stale ones do not."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from sqlalchemy import select

from bot.alerts.models import AlertGroup
from tests.support.factories import BOB, am_alert, am_notification
from tests.support.harness import Harness


async def _posted_alert(h: Harness) -> tuple[int, str]:
    status, _ = await h.alertmanager(am_notification(am_alert()))
    assert status == 202
    await h.drain()
    [msg] = h.slack.messages("platform-alerts")
    return msg.metadata["event_payload"]["group_id"], msg.ts


def _click_body(h: Harness, gid: int) -> bytes:
    payload = {"type": "block_actions", "user": {"id": BOB, "username": "bob"}, "team": {"id": h.slack.team_id},
               "container": {"type": "message"}, "trigger_id": "1.2.3",
               "actions": [{"action_id": "alert_acknowledge", "block_id": f"alert_actions:{gid}",
                            "type": "button", "value": str(gid)}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


async def _status(h: Harness, gid: int) -> str:
    async with h.bot.services.sessions() as s:
        return str(await s.scalar(select(AlertGroup.status).where(AlertGroup.id == gid)))


async def test_forged_unsigned_and_stale_requests_are_refused(harness: Harness) -> None:
    gid, _ = await _posted_alert(harness)
    body = _click_body(harness, gid)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    unsigned = await harness.driver.raw(body, form)
    assert unsigned.status == 401
    forged = await harness.driver.raw(body, {**form, "X-Slack-Request-Timestamp": str(int(time.time())),
                                             "X-Slack-Signature": "v0=" + "ab" * 32})
    assert forged.status == 401
    stale_headers = harness.driver.sign(body, timestamp=int(time.time()) - 6 * 60)
    stale = await harness.driver.raw(body, {**form, **stale_headers})
    assert stale.status == 401
    assert await _status(harness, gid) == "firing"
    signed = await harness.driver.raw(body, {**form, **harness.driver.sign(body)})
    assert signed.status == 200
    await harness.drain()
    assert await _status(harness, gid) == "acknowledged"


async def test_url_verification_handshake(harness: Harness) -> None:
    resp = await harness.driver.url_verification("challenge-abc")
    assert resp.status == 200 and "challenge-abc" in resp.text
