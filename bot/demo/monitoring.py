"""The demo's monitoring scene: an uptime check that goes down and recovers, a job's heartbeat that
reports a failure and then a beat, and what the public status page shows at the end."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.demo import Stage

HEARTBEAT_TOKEN = "demo-heartbeat-token"


async def probe_for(st: Stage, seconds: int) -> None:
    for _ in range(seconds // 30):  # 30-second steps, running the checks that come due
        st.clock.advance(timedelta(seconds=30))
        await st.bot.checks.run_due()
        await st.settle()


async def scene_monitoring(st: Stage) -> None:
    st.transcript.note("Watchstander's own uptime check probes the shop's health endpoint every 30 s; the shop "
                       "starts answering 503")
    st.shop.status = 503
    await probe_for(st, 90)
    st.transcript.note("The shop is back: after two good probes the alert resolves itself")
    st.shop.status = 200
    await probe_for(st, 60)
    st.later(minutes=1)
    st.transcript.note("The nightly backup job reports a failure to its heartbeat URL")
    await heartbeat(st, "/fail", b"pg_dump: error: connection to server failed: timeout")
    st.later(minutes=9)
    st.transcript.note("It is retried and succeeds: the beat resolves the alert")
    await heartbeat(st, "", b"")
    await show_status_page(st)


async def heartbeat(st: Stage, path: str, body: bytes) -> None:
    url = f"{st.url}/heartbeat/nightly-backup{path}?token={HEARTBEAT_TOKEN}"
    async with st.http.post(url, data=body) as resp:
        st.transcript.write(f"    (heartbeat answered {resp.status} {(await resp.json())['status']})")
    await st.settle()


async def show_status_page(st: Stage) -> None:
    """What the public sees at /status: the published check and only the published incident update."""
    async with st.http.get(f"{st.url}/status.json") as resp:
        page = await resp.json()
    st.transcript.note(f"The public status page at {st.url}/status (also /status.json) says:")
    st.transcript.write(f"    {page['title']}: {page['summary']['text']}")
    for check in page["checks"]:
        st.transcript.write(f"    {check['name']}: {check['state']}, {check['uptime_90d']}% uptime over 90 days")
    for incident in page["incidents"]["open"] + page["incidents"]["resolved_recent"]:
        st.transcript.write(f"    Incident: {incident['title']} ({incident['status']})\n" + "\n".join(
            f"      {update['status']}: {update['text']}" for update in incident["updates"]))
