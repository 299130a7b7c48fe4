"""`watchstander demo`: the whole product on this machine, against the built-in Slack and Twilio stand-ins.

The bot is built exactly as `serve` builds it and served over real HTTP on 127.0.0.1; alerts arrive
over real webhooks and "people" click through signed Slack requests. Time is a manual clock that
the script moves forward, so twenty minutes of an incident play out in seconds.

The story is the same on every date: the rotation is placed relative to the demo's start (Bob's
week, Carol his backup, the last handoff three days ago), and every line that names a person or a
role reads it from the bot's own on-call state or from what was actually sent.
"""

from __future__ import annotations

import copy
import re
import socket
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot.app import Bot, create_bot
from bot.clock import ManualClock
from bot.config import WEEKDAYS, Config, Settings, parse_config
from bot.db import migrate
from bot.demo.email import EMAIL_FROM, PAYMENTS, email_seen, scene_email
from bot.demo.monitoring import HEARTBEAT_TOKEN, scene_monitoring
from bot.demo.payloads import AM_TOKEN, am_alert, am_payload
from bot.demo.phone import STORAGE, STORAGE_ROUTE, scene_phone_call
from bot.durations import format_config_duration
from bot.oncall.who import on_call
from bot.sandbox.shop import ShopStandIn
from bot.sandbox.slack import SandboxUser, SlackStandIn
from bot.sandbox.slack_records import SandboxMessage
from bot.sandbox.slack_user import SlackDriver
from bot.sandbox.smtp import SmtpStandIn
from bot.sandbox.transcript import Transcript
from bot.sandbox.twilio import TwilioStandIn
from bot.slack.ids import AlertAction, Callback, IncidentField, OverflowChoice

SIGNING_SECRET = "demo-signing-secret"
BOT_NUMBER = "+15005550006"
PD_KEY, GENERIC_TOKEN = "demo-pagerduty-key", "demo-generic-token"

DEMO_ZONE = ZoneInfo("Europe/Berlin")
DEMO_CONFIG = f"""
timezone: {DEMO_ZONE.key}
slack: {{alerts_channel: alerts, incidents_channel: incidents, summary_channel: ops-weekly, admins: [U0ADMIN01]}}
people:
  - {{slack_id: U0ALICE01, name: Alice, phone: "+15550000001", email: alice@example.com, timezone: Europe/Berlin}}
  - {{slack_id: U0BOB0001, name: Bob,   phone: "+15550000002", email: bob@example.com, timezone: America/New_York}}
  - {{slack_id: U0CAROL01, name: Carol, phone: "+15550000003", email: carol@example.com, timezone: Europe/London}}
teams:
  - name: platform
    channel: platform-alerts
    schedule:
      rotation: weekly
      handoff: "{{handoff}}"
      start: {{start}}
      primary: [U0ALICE01, U0BOB0001, U0CAROL01]
      backup:  [U0BOB0001, U0CAROL01, U0ALICE01]
    calendar_token: demo-calendar-token
{{payments}}routes:
  - {{match: {{service: api}}, team: platform}}
  - {{match: {{service: payments}}, team: payments}}
{{storage_route}}  - {{match: {{service: "~^(db|postgres)"}}, team: platform}}
integrations:
  - {{name: prometheus, type: alertmanager, token: {AM_TOKEN}, team: platform}}
  - {{name: pd-compatible, type: pagerduty, token: {PD_KEY}}}
  - {{name: scripts, type: generic, token: {GENERIC_TOKEN}}}
checks:
  - {{name: shop-health, url: "{{shop_url}}", every: 30s, timeout: 5s, down_after: 1m, team: platform,
     severity: high, expect: {{status: 200, body_contains: '"status":"ok"'}}}}
heartbeats:
  - {{name: nightly-backup, every: 24h, grace: 1h, team: platform, token: {HEARTBEAT_TOKEN}}}
status_page: {{title: "Example Shop status", checks: [shop-health]}}
"""
PEOPLE = [
    SandboxUser(id="U0ALICE01", name="alice", real_name="Alice", tz="Europe/Berlin"),
    SandboxUser(id="U0BOB0001", name="bob", real_name="Bob", tz="America/New_York"),
    SandboxUser(id="U0CAROL01", name="carol", real_name="Carol", tz="Europe/London"),
    SandboxUser(id="U0ADMIN01", name="admin", real_name="Admin", tz="UTC", is_admin=True),
]
#: The last handoff is this long before the demo starts, so the story (about an hour) never meets one.
INTO_THE_WEEK = timedelta(days=3)


def rotation_for(start: datetime) -> tuple[str, date]:
    """The demo rotation's handoff and start date for a demo starting at ``start``: the weekly
    handoff falls at 09:00 three days before, and the rotation began a week before that, so the
    second in line (Bob as primary, Carol as backup) holds the week, on any date."""
    last_handoff = start.astimezone(DEMO_ZONE).date() - INTO_THE_WEEK
    return f"{WEEKDAYS[last_handoff.weekday()]} 09:00", last_handoff - timedelta(weeks=1)


@dataclass(frozen=True)
class Cast:
    """Who plays which part, read from the bot's on-call state when the demo starts."""

    primary: str
    backup: str
    colleague: str  # on the team, not on call this week


@dataclass
class Stage:
    """Everything a demo scene can use."""

    bot: Bot
    url: str
    clock: ManualClock
    slack: SlackStandIn
    twilio: TwilioStandIn
    driver: SlackDriver
    http: aiohttp.ClientSession
    transcript: Transcript
    cast: Cast
    shop: ShopStandIn
    smtp: SmtpStandIn

    def name(self, user: str) -> str:
        return self.transcript.names.get(user, user)

    async def webhook(self, path: str, payload: Mapping[str, object], token: str | None = None) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.post(self.url + path, json=payload, headers=headers) as resp:
            body: dict[str, object] = await resp.json()
            self.transcript.write(f"    (webhook {path} answered {resp.status} {body.get('status')})")
        await self.settle()
        return body

    async def settle(self) -> None:
        await self.bot.drain()

    def later(self, **delta: float) -> None:
        """Move the clock on; the note names the zone, since a demo can run across a DST change."""
        step = timedelta(**delta)
        self.clock.advance(step)
        self.transcript.note(f"{self.clock.now().astimezone(self.bot.services.config.zone()):%H:%M %Z} "
                             f"(+{format_config_duration(step)})")

    async def slash(self, command: str, text: str, *, user: str, channel: str) -> None:
        """A person types a slash command; the transcript shows the command and what they see."""
        who = self.name(user)
        self.transcript.write(f"\n▶ @{who} in #{channel}: {command} {text}".rstrip())
        response = await self.driver.slash(command, text, user_id=user, channel_id=self.slack.channel_id(channel))
        body = response.json() if response.text.strip().startswith("{") else None
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self.transcript.write("● Slack reply (only visible to you)")
            self.transcript.show(body.get("blocks") or [], str(body.get("text", "")))
        await self.settle()

    def last(self, channel: str) -> SandboxMessage:
        return self.slack.messages(channel)[-1]


async def scene_alert_lifecycle(st: Stage) -> None:
    st.transcript.note("Alertmanager fires a critical alert for the api service")
    now = st.clock.now()
    err = am_alert("HighErrorRate", "fp-err", summary="error rate 7.2% > 5%", starts=now)
    await st.webhook("/alerts/alertmanager", am_payload("HighErrorRate", [err]), AM_TOKEN)
    st.transcript.note("The second Alertmanager replica sends the same notification: nothing new is posted")
    await st.webhook("/alerts/alertmanager", am_payload("HighErrorRate", [err]), AM_TOKEN)
    st.later(minutes=1, seconds=12)
    primary, colleague = st.cast.primary, st.cast.colleague
    as_the_colleague_sees_it = copy.deepcopy(st.last("platform-alerts"))  # their Slack has not refreshed yet
    st.transcript.note(f"{st.name(primary)}, who was paged, clicks Acknowledge")
    await st.driver.click(st.last("platform-alerts"), AlertAction.ACKNOWLEDGE, user_id=primary)
    await st.settle()
    st.transcript.note(f"{st.name(colleague)} clicks Acknowledge a moment later, on a screen that has not "
                       "refreshed yet")
    await st.driver.click(as_the_colleague_sees_it, AlertAction.ACKNOWLEDGE, user_id=colleague)
    st.later(minutes=13)
    st.transcript.note("Alertmanager reports the alert resolved")
    await st.webhook("/alerts/alertmanager",
                     am_payload("HighErrorRate", [{**err, "status": "resolved", "endsAt": st.clock.now().isoformat()}],
                                status="resolved"), AM_TOKEN)


async def scene_grouping_and_snooze(st: Stage) -> None:
    st.transcript.note("One Alertmanager notification carries three disks filling up: one message")
    now = st.clock.now()
    disks = [am_alert("DiskSpaceLow", f"fp-disk-{i}", severity="warning", service="db", instance=f"db-{i}",
                      summary=f"/var/lib/postgresql {90 + i}% full", starts=now) for i in range(1, 4)]
    await st.webhook("/alerts/alertmanager", am_payload("DiskSpaceLow", disks), AM_TOKEN)
    msg = st.last("platform-alerts")
    group = (msg.metadata or {})["event_payload"]["group_id"]  # the alert message carries its group id
    st.transcript.note(f"{st.name(st.cast.backup)} snoozes it for an hour from the ⋯ menu")
    await st.driver.click(msg, AlertAction.MORE, user_id=st.cast.backup,
                          selected_option_value=f"{OverflowChoice.SNOOZE_1H}:{group}")
    await st.settle()


async def scene_pagerduty(st: Stage) -> None:
    st.transcript.note("A tool speaking the PagerDuty Events API v2 triggers an event (routed by its custom details)")
    event = {"routing_key": PD_KEY, "event_action": "trigger",
             "payload": {"summary": "Replication lag 45s on db-2", "source": "db-2", "severity": "error",
                         "custom_details": {"service": "postgres", "lag_seconds": "45"}}}
    body = await st.webhook("/v2/enqueue", event)
    st.later(minutes=4)
    st.transcript.note("The same tool resolves it by dedup_key")
    await st.webhook("/v2/enqueue", {"routing_key": PD_KEY, "event_action": "resolve",
                                     "dedup_key": body["dedup_key"]})


async def scene_escalation_and_sms(st: Stage) -> None:
    st.transcript.note("Checkout latency goes critical and nobody reacts: the policy walks up")
    now = st.clock.now()
    slow = am_alert("CheckoutLatencyHigh", "fp-checkout", summary="p99 checkout latency 4.2s > 1s",
                    service="api", instance="checkout-1", starts=now)
    await st.webhook("/alerts/alertmanager", am_payload("CheckoutLatencyHigh", [slow]), AM_TOKEN)
    for minutes in (5, 5):
        st.later(minutes=minutes)
        await st.settle()
    last_page = [m for m in st.twilio.messages if m.direction == "outbound-api"][-1]
    who = next((p.slack_id for p in st.bot.services.config.people if p.phone == last_page.to), "")
    role = {st.cast.backup: "the backup", st.cast.primary: "on call"}.get(who, "paged last")
    st.transcript.note(f"{st.name(who)}, {role}, answers the SMS page")
    code = re.search(r"Reply (\d+) A", last_page.body)
    await st.twilio.reply(st.url + "/twilio/sms", from_=last_page.to, body=f"{code.group(1) if code else '?'} a",
                          public_url=st.url + "/twilio/sms")
    await st.settle()


async def scene_oncall(st: Stage) -> None:
    cover, away = st.cast.backup, st.name(st.cast.primary)
    st.transcript.note(f"{st.name(cover)} asks who is on call, then takes the pager for two hours so {away} "
                       "can rest after the incident")
    await st.slash("/oncall", "", user=cover, channel="platform-alerts")
    await st.slash("/oncall", f"take platform 2h so {away} can rest after the incident", user=cover,
                   channel="platform-alerts")
    await st.settle()


async def scene_incident(st: Stage) -> None:
    lead, fixer = st.cast.primary, st.cast.colleague
    st.transcript.note(f"Checkout is failing for customers: {st.name(lead)} declares a SEV1 incident from the alert")
    alert = next(m for m in reversed(st.slack.messages("platform-alerts")) if "CheckoutLatencyHigh" in m.text)
    await st.driver.click(alert, AlertAction.DECLARE_INCIDENT, user_id=lead)
    await st.settle()
    view = next(v for v in reversed(st.slack.open_views(lead)) if v.callback_id == Callback.DECLARE_MODAL)
    await st.driver.submit_view(view, {IncidentField.TITLE: "Checkout failing", IncidentField.SEVERITY: "SEV1",
                                       IncidentField.SUMMARY: "Card payments fail with HTTP 502 at checkout"},
                                user_id=lead)
    await st.settle()
    channel = next(c for c in st.slack.channels if c.name.startswith("inc-"))
    st.later(minutes=6)
    st.transcript.note(f"{st.name(fixer)} finds the cause and posts an update")
    await st.slash("/incident", "status identified payments-api 2.14 exhausts its DB pool; rolling back",
                   user=fixer, channel=channel.name)
    message, _ = await st.driver.say(channel.id, "Rollback to 2.13 started by the deploy pipeline", user_id=fixer)
    st.transcript.note(f"{st.name(lead)} marks {st.name(fixer)}'s message with :pushpin: so it lands on the timeline")
    await st.driver.react(message, "pushpin", user_id=lead)
    await st.settle()
    st.later(minutes=9)
    st.transcript.note(f"{st.name(fixer)} publishes the next update on the public status page too")
    await st.slash("/incident", "status monitoring --public Card payments work again; we are watching closely",
                   user=fixer, channel=channel.name)
    await st.slash("/incident", "status monitoring error rate back to 0.1% after the rollback", user=fixer,
                   channel=channel.name)
    await st.slash("/incident", "action Alert on DB pool saturation before it is exhausted", user=lead,
                   channel=channel.name)
    st.later(minutes=20)
    st.transcript.note(f"All quiet: {st.name(lead)} resolves the incident")
    await st.slash("/incident", "resolve Rolled back payments-api to 2.13", user=lead, channel=channel.name)
    await st.settle()


Scene = Callable[[Stage], Awaitable[None]]
SCENES: list[Scene] = [scene_alert_lifecycle, scene_grouping_and_snooze, scene_pagerduty, scene_escalation_and_sms,
                       scene_incident, scene_oncall, scene_monitoring, scene_email, scene_phone_call]


def demo_config(start: datetime, shop_url: str = "http://127.0.0.1:9/health") -> Config:
    handoff, first_day = rotation_for(start)
    text = (DEMO_CONFIG.replace("{payments}", PAYMENTS + STORAGE)
            .replace("{storage_route}", STORAGE_ROUTE).replace("{handoff}", handoff)
            .replace("{start}", first_day.isoformat()).replace("{shop_url}", shop_url))
    return parse_config(text, path="<demo>", env={})


async def cast_of(bot: Bot, now: datetime) -> Cast:
    """Primary and backup of the demo team as the bot itself answers; the third person is the colleague."""
    svc = bot.services
    async with svc.sessions() as s:
        current = await on_call(s, svc.schedules, "platform", now)
    if current.primary is None or current.backup is None:
        raise RuntimeError("the demo rotation has nobody on call")  # rotation_for guarantees both
    primary, backup = current.primary.person, current.backup.person
    colleague = next(p.slack_id for p in svc.config.people if p.slack_id not in (primary, backup))
    return Cast(primary=primary, backup=backup, colleague=colleague)


def introduce(st: Stage) -> None:
    start = st.clock.now().astimezone(DEMO_ZONE)
    st.transcript.note(f"{start:%A} {start.day} {start:%B %Y, %H:%M %Z}. On call for platform this week: {st.name(st.cast.primary)}, "
                       f"with {st.name(st.cast.backup)} as backup; {st.name(st.cast.colleague)} is on the team too")


async def run_demo(*, verbose: bool = False, write: Callable[[str], None] = print,
                   start: datetime | None = None) -> int:
    """Play the demo on a manual clock starting at ``start`` (now by default) and print the transcript."""
    clock = ManualClock((start or datetime.now(UTC)).replace(microsecond=0))
    async with ShopStandIn() as shop:
        return await _play(clock, shop, verbose=verbose, write=write)


async def _play(clock: ManualClock, shop: ShopStandIn, *, verbose: bool, write: Callable[[str], None]) -> int:
    config = demo_config(clock.now(), shop.url)
    names = {p.slack_id: p.name for p in config.people}
    with tempfile.TemporaryDirectory(prefix="watchstander-demo-") as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        await migrate(db_url)
        channels = ("alerts", "incidents", "ops-weekly", "platform-alerts", "payments-alerts", "storage-alerts")
        async with SlackStandIn(channels=channels, users=PEOPLE, trigger_ttl=None, clock=clock) as slack, \
                TwilioStandIn(clock=clock) as twilio, SmtpStandIn() as smtp, aiohttp.ClientSession() as http:
            transcript = Transcript(slack, names, write=write, verbose=verbose)
            slack.on_call = transcript.on_call
            phones = {p.phone: p.name for p in config.people if p.phone}
            twilio.on_message = lambda sms: transcript.sms_seen(sms.direction, phones.get(
                sms.from_ if sms.direction == "inbound" else sms.to, "someone"), sms.body)
            with socket.socket() as probe:  # the bot's address must be known before it is built (PUBLIC_URL)
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
            url = f"http://127.0.0.1:{port}"
            settings = Settings(
                slack_bot_token=slack.bot_token, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url,
                database_url=db_url, port=port, public_url=url, twilio_account_sid=twilio.account_sid,
                twilio_auth_token=twilio.auth_token, twilio_from_number=BOT_NUMBER, twilio_api_url=twilio.api_url,
                smtp_url=smtp.url, email_from=EMAIL_FROM,
            )
            bot = create_bot(settings, config, clock=clock, run_background=False)
            runner = web.AppRunner(bot.web, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            write("Watchstander demo — a local Slack, Twilio and mail server stand in for the real ones.")
            write(f"Bot at {url}; Slack stand-in at {slack.api_url}; Twilio stand-in at {twilio.api_url}; "
                  f"SMTP stand-in at {smtp.url}")
            async with SlackDriver(url + "/slack/events", signing_secret=SIGNING_SECRET, slack=slack) as driver:
                stage = Stage(bot=bot, url=url, clock=clock, slack=slack, twilio=twilio, driver=driver, http=http,
                              transcript=transcript, cast=await cast_of(bot, clock.now()), shop=shop, smtp=smtp)
                smtp.on_message = lambda mail: email_seen(stage, mail)
                introduce(stage)
                try:
                    for scene in SCENES:
                        await scene(stage)
                finally:
                    await runner.cleanup()
            drafts = [u for u in slack.uploads if u.completed and u.content]
            if drafts:
                write("\n" + "═" * 100 + f"\nThe post-mortem draft ({drafts[-1].title or drafts[-1].name}):\n" + "═" * 100)
                write((drafts[-1].content or b"").decode())
            sent = sum(1 for m in twilio.messages if m.direction == "outbound-api")
            write(f"\nDemo finished: {len(slack.calls)} Slack API calls, {sent} SMS pages sent, "
                  f"{len(twilio.voice.calls)} phone call(s), {len(smtp.messages)} emails sent.")
    return 0
