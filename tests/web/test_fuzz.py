"""Fuzzing every endpoint with bent versions of valid requests: never a 5xx, never a traceback, and a
refused request changes nothing stored.

Each test serves one bot for all its examples and runs with a fixed seed, and with a random one when
``FUZZ_SEED=random`` (or the given one, ``FUZZ_SEED=<n>``). ``FUZZ_EXAMPLES`` sets the examples per run.
To replay a failure, run the failing test id with the ``FUZZ_SEED`` and ``FUZZ_EXAMPLES`` its error
note names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as with_seed
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.sandbox.slack_records import JSON, iter_elements
from bot.sandbox.slack_user import VERIFICATION_TOKEN, view_state
from bot.slack.ids import AlertAction, Callback, IncidentAction
from tests.incidents.flow import incident, open_modal, submit_declare
from tests.support.factories import ALICE, BOB, TOKENS, am_alert, am_notification, make_config
from tests.support.harness import SIGNING_SECRET, Harness
from tests.web.fuzzing import (
    FuzzBot,
    Request,
    bent_bytes,
    bent_form,
    bent_headers,
    bent_json,
    content_types,
    dumps,
    form_bytes,
    fuzz_bot,
    header_value,
    parsed_form,
)
from tests.web.hostile import click_payload, event_envelope, slash_form, twilio_signature

PAYLOADS = Path(__file__).parent.parent / "alerts" / "payloads"
PHONE = "+15550000001"  # Alice's, from the test config

FIXED_SEED = 20261202
# The random seed is opt-in (FUZZ_SEED=random, or FUZZ_SEED=<n> to replay one) so that `pytest` on a
# developer's machine gives the same answer twice; CI adds a FUZZ_SEED=random pass after the suite.
_SEED = os.environ.get("FUZZ_SEED", "")
RANDOM_SEED = random.SystemRandom().randrange(2**32) if _SEED == "random" else int(_SEED) if _SEED else None
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 0)  # 0: each test's own share of CI's ~4 minutes
SEEDS = [pytest.param(FIXED_SEED, id="fixed-seed")] + (
    [pytest.param(RANDOM_SEED, id=f"seed-{RANDOM_SEED}")] if RANDOM_SEED is not None else [])


def fuzz(bot: FuzzBot, seed: int, requests: st.SearchStrategy[Request], *, examples: int,
         accepted: Callable[[int], bool] = lambda status: status < 400) -> None:
    """Send ``examples`` requests (``FUZZ_EXAMPLES`` if set) drawn from ``requests``, each checked by
    :meth:`FuzzBot.send`. The defaults fit CI's budget: about 20 ms of CPU a request, 2 cores."""
    examples = EXAMPLES or examples

    @with_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(request=requests)
    def example(request: Request) -> None:
        bot.send(request, accepted=accepted)

    started = time.process_time()
    try:
        example()
    except BaseException as exc:
        which = "-k fixed-seed" if seed == FIXED_SEED else f"-k seed-{seed}"
        exc.add_note(f"replay: FUZZ_SEED={seed} FUZZ_EXAMPLES={examples} pytest tests/web/test_fuzz.py {which}")
        raise
    cpu = time.process_time() - started
    print(f"\n{seed=}: {sum(bot.statuses.values())} requests, {cpu:.1f} s CPU; statuses {dict(sorted(bot.statuses.items()))}")
    answered = {status // 100 for status in bot.statuses}
    assert {2, 4} <= answered, f"the requests got only {bot.statuses}: bent too little, or too much"


def body_of(draw: st.DrawFn, doc: Any) -> bytes:
    """``doc`` as JSON, valid or bent structurally, byte by byte, or both."""
    how = draw(st.sampled_from(["valid", "json", "json", "json", "bytes", "both"]))
    if how in ("json", "both"):
        doc = draw(bent_json(doc))
    body = dumps(doc)
    return draw(bent_bytes(body)) if how in ("bytes", "both") else body


def maybe_bent_headers(draw: st.DrawFn, request: Request) -> Request:
    return draw(bent_headers(request)) if draw(st.integers(0, 3)) == 0 else request


def hex_hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()


# --- /alerts/* ----------------------------------------------------------------------------------

def load(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


ALERT_BODIES = {
    "alertmanager": [load("alertmanager"), am_notification(am_alert())],
    "grafana": [load("grafana_unified"), load("grafana_documented"), load("grafana_legacy")],
    "sentry": [load("sentry_issue"), load("sentry_event_alert"), load("sentry_metric_alert")],
    "generic": [load("generic"), {"title": "Disk full", "severity": "critical", "service": "api"}],
}
ALERT_TOKENS = {"alertmanager": TOKENS["AM_TOKEN"], "grafana": TOKENS["GRAFANA_TOKEN"],
                "sentry": TOKENS["SENTRY_TOKEN"], "generic": TOKENS["GENERIC_TOKEN"]}
SENTRY_RESOURCES = [b"issue", b"event_alert", b"metric_alert", b"installation", b"", b"\xff"]


def alert_requests(clock: ManualClock) -> st.SearchStrategy[Request]:
    @st.composite
    def build(draw: st.DrawFn) -> Request:
        kind = draw(st.sampled_from(sorted(ALERT_BODIES)))
        body = body_of(draw, draw(st.sampled_from(ALERT_BODIES[kind])))
        token = ALERT_TOKENS[kind]
        target = f"/alerts/{kind}".encode()
        headers: dict[str, bytes | None] = {"content_type": b"application/json"}
        auth = draw(st.sampled_from(["bearer", "bearer", "query", "basic", "signature", "none"]))
        if auth == "bearer":
            headers["authorization"] = b"Bearer " + token.encode()
        elif auth == "query":
            target += b"?token=" + quote(token).encode()
        elif auth == "basic":
            headers["authorization"] = b"Basic " + base64.b64encode(b"grafana:" + token.encode())
        if kind == "grafana" and auth == "signature":
            ts = str(int(clock.now().timestamp()) + draw(st.sampled_from([0, 0, -299, 301]))).encode()
            headers["x_grafana_alerting_signature"] = hex_hmac(TOKENS["GRAFANA_SECRET"], ts + b":" + body)
            headers["x_grafana_alerting_signature_timestamp"] = ts
        if kind == "sentry":
            headers["sentry_hook_signature"] = hex_hmac(TOKENS["SENTRY_CLIENT_SECRET"], body)
            headers["sentry_hook_resource"] = draw(st.sampled_from(SENTRY_RESOURCES))
        request = Request("POST", target).with_headers(**headers)
        return maybe_bent_headers(draw, Request("POST", target, request.headers, body))

    return build()


@pytest.mark.parametrize("seed", SEEDS)
def test_alert_webhooks(seed: int, db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    """Alertmanager, Grafana (token or HMAC), Sentry (token and HMAC) and generic webhooks."""
    with fuzz_bot(db_url, clock, caplog) as bot:
        fuzz(bot, seed, alert_requests(clock), examples=900)


# --- /v2/enqueue --------------------------------------------------------------------------------

def pagerduty_requests(clock: ManualClock) -> st.SearchStrategy[Request]:
    events = []
    for name in ("pagerduty_trigger", "pagerduty_alertmanager"):
        event = load(name)
        event["routing_key"] = TOKENS["PD_ROUTING_KEY"]
        events.append(event)
    events += [{"routing_key": TOKENS["PD_ROUTING_KEY"], "event_action": action, "dedup_key": "srv01/mysql"}
               for action in ("acknowledge", "resolve")]

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        clock.advance(timedelta(seconds=1))  # the per-key rate limit refills as time passes
        body = body_of(draw, draw(st.sampled_from(events)))
        path = draw(st.sampled_from([b"/v2/enqueue", b"/v2/enqueue/"]))
        request = Request("POST", path, ((b"Content-Type", b"application/json"),), body)
        return maybe_bent_headers(draw, request)

    return build()


@pytest.mark.parametrize("seed", SEEDS)
def test_pagerduty_events(seed: int, db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    with fuzz_bot(db_url, clock, caplog) as bot:
        fuzz(bot, seed, pagerduty_requests(clock), examples=750)


# --- /slack/events ------------------------------------------------------------------------------

SLACK_HEADERS = ("Content-Type", "X-Slack-Request-Timestamp", "X-Slack-Signature")


def slack_signed(draw: st.DrawFn, h: Harness, body: bytes, content_type: bytes) -> Request:
    """``body`` signed exactly as Slack signs (v0 HMAC of ``v0:<timestamp>:<body bytes>``), then maybe
    with bent headers; sometimes the signature is of the body before it was bent."""
    ts = str(int(time.time())).encode()
    signature = b"v0=" + hex_hmac(SIGNING_SECRET, b"v0:" + ts + b":" + body)
    request = Request("POST", b"/slack/events", ((b"Content-Type", content_type),
                                                 (b"X-Slack-Request-Timestamp", ts),
                                                 (b"X-Slack-Signature", signature)), body)
    if draw(st.integers(0, 5)) == 0:
        request = draw(bent_headers(request, SLACK_HEADERS))
    return request


def form_body(draw: st.DrawFn, form: dict[str, str]) -> bytes:
    how = draw(st.sampled_from(["valid", "form", "form", "form", "bytes"]))
    if how == "valid":
        return form_bytes(form)
    if how == "form":
        return form_bytes(draw(bent_form(form)))
    return draw(bent_bytes(form_bytes(form)))


def interactive_body(draw: st.DrawFn, payload: JSON) -> bytes:
    """``payload=<JSON>`` as Slack posts interactivity, the JSON or the form around it bent."""
    how = draw(st.sampled_from(["valid", "json", "json", "json", "json", "form", "bytes"]))
    text = dumps(draw(bent_json(payload))) if how == "json" else dumps(payload)
    form = {"payload": text.decode("utf-8", "surrogatepass")}
    if how == "form":
        return form_bytes(draw(bent_form(form)))
    body = form_bytes(form)
    return draw(bent_bytes(body)) if how == "bytes" else body


ONCALL_TEXTS = ["", "help", "platform", "payments", "schedule", "schedule platform", "override @U0BOB0001 4h",
                "take 2h", "overrides", "cancel 1", "page platform disk full", "silence 1h", "report",
                "override <@U0BOB0001> until fri 18:00 dentist", "nobody"]
INCIDENT_TEXTS = ["", "help", "list", "declare Checkout failing", "sev SEV2", "status investigating",
                  "note found it", "action fix it", "timeline", "resolve", "postmortem", "role commander @U0BOB0001"]


async def prepare_slack(h: Harness) -> None:
    """An alert in #platform-alerts, an incident with its channel, and Alice's App Home."""
    status, _ = await h.alertmanager(am_notification(am_alert()))
    assert status == 202
    await h.drain()
    await incident(h, "declare Checkout failing", user=BOB, channel="platform-alerts")
    await submit_declare(h, await open_modal(h, BOB, Callback.DECLARE_MODAL), user=BOB)
    await h.drain()
    await h.driver.open_app_home(ALICE)
    await h.drain()


def incident_channel(h: Harness) -> Any:
    """The channel of the incident :func:`prepare_slack` declared."""
    return next(c for c in h.slack.channels if c.name.startswith("inc-"))


def slash_requests(bot: FuzzBot) -> st.SearchStrategy[Request]:
    h = bot.h
    channels = ["alerts", "platform-alerts", next(c.name for c in h.slack.channels if c.name.startswith("inc-"))]

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        command = draw(st.sampled_from(["/oncall", "/incident"]))
        text = draw(st.sampled_from(ONCALL_TEXTS if command == "/oncall" else INCIDENT_TEXTS))
        form = slash_form(h, command, text, user=draw(st.sampled_from([ALICE, BOB])),
                          channel=draw(st.sampled_from(channels)))
        return slack_signed(draw, h, form_body(draw, form), b"application/x-www-form-urlencoded")

    return build()


@pytest.mark.parametrize("seed", SEEDS)
def test_slack_slash_commands(seed: int, db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    with fuzz_bot(db_url, clock, caplog, prepare_slack) as bot:
        fuzz(bot, seed, slash_requests(bot), examples=600)


def _action(block: JSON, element: JSON) -> JSON:
    """The ``actions[0]`` Slack sends for a click on ``element``."""
    action: JSON = {"action_id": element.get("action_id"), "block_id": block.get("block_id"),
                    "type": element.get("type"), "action_ts": "1700000000.000001"}
    options = list(element.get("options") or [])
    if element.get("type") == "button":
        action["value"] = element.get("value")
    elif options and element.get("type") in ("overflow", "static_select", "radio_buttons"):
        action["selected_option"] = options[0]
    elif options:
        action["selected_options"] = options[:1]
    elif element.get("type") == "users_select":
        action["selected_user"] = BOB
    return action


def click_payloads(h: Harness) -> list[JSON]:
    """A click on every element of the alert message, the incident channel's messages and the App Home."""
    payloads = []
    alert = h.slack.messages("platform-alerts")[0]
    for block, element in iter_elements(alert.blocks):
        payloads.append(click_payload(h, "platform-alerts", alert.ts, _action(block, element), user=ALICE))
    channel = incident_channel(h)
    for message in h.slack.messages(channel.id):
        for block, element in iter_elements(message.blocks):
            payloads.append(click_payload(h, channel.name, message.ts, _action(block, element), user=BOB))
    home = h.slack.home(ALICE)
    assert home is not None
    for block, element in iter_elements(home.blocks):
        payloads.append({"type": "block_actions", "user": {"id": ALICE, "username": "alice", "team_id": h.slack.team_id},
                         "api_app_id": h.slack.workspace.app_id, "token": VERIFICATION_TOKEN,
                         "container": {"type": "view", "view_id": home.id}, "view": home.view,
                         "trigger_id": h.slack.issue_trigger_id(ALICE), "team": {"id": h.slack.team_id},
                         "actions": [_action(block, element)]})
    payloads.append({"type": "message_action", "token": VERIFICATION_TOKEN, "callback_id": Callback.DECLARE_FROM_MESSAGE,
                     "team": {"id": h.slack.team_id}, "user": {"id": ALICE, "team_id": h.slack.team_id},
                     "channel": {"id": alert.channel, "name": "platform-alerts"},
                     "trigger_id": h.slack.issue_trigger_id(ALICE), "message_ts": alert.ts,
                     "message": h.slack.render_message(alert),
                     "response_url": h.slack.new_response_url(channel_id=alert.channel, user_id=ALICE)})
    return payloads


def _filled(view: Any) -> JSON:
    """``state.values`` with every required input given a plausible value."""
    values: dict[str, dict[str, object]] = {}
    for block, element in iter_elements(view.blocks):
        if block.get("type") != "input" or block.get("optional"):
            continue
        kind, options = element.get("type"), element.get("options") or []
        value: object = "fuzzed text"
        if kind in ("static_select", "radio_buttons") and options:
            value = options[0]["value"]
        elif kind in ("checkboxes", "multi_static_select") and options:
            value = [options[0]["value"]]
        elif kind == "users_select":
            value = BOB
        values.setdefault(str(block["block_id"]), {})[str(element.get("action_id"))] = value
    return view_state(view, values)


async def open_modals(h: Harness) -> list[Any]:
    """Every modal the bot opens: Escalate, Declare, and the incident header's four."""
    alert = h.slack.messages("platform-alerts")[0]
    await h.driver.click(alert, AlertAction.ESCALATE, user_id=ALICE)
    views = [await open_modal(h, ALICE, Callback.ESCALATE_MODAL)]
    await h.driver.slash("/incident", "declare Payments down", user_id=ALICE, channel_id=alert.channel)
    views.append(await open_modal(h, ALICE, Callback.DECLARE_MODAL))
    header = next(m for m in h.slack.messages(incident_channel(h).id) if any(
        e.get("action_id") == IncidentAction.POST_UPDATE for _, e in iter_elements(m.blocks)))
    for action in (IncidentAction.POST_UPDATE, IncidentAction.CHANGE_SEVERITY, IncidentAction.ASSIGN_ROLE,
                   IncidentAction.RESOLVE):
        await h.driver.click(header, action, user_id=BOB)
        await h.drain()
        views.append(h.slack.open_views(BOB)[-1])
    return views


def submission(h: Harness, view: Any, user: str) -> JSON:
    return {"type": "view_submission", "team": {"id": h.slack.team_id, "domain": "sandbox"},
            "user": {"id": user, "username": user.lower(), "team_id": h.slack.team_id},
            "api_app_id": h.slack.workspace.app_id, "token": VERIFICATION_TOKEN,
            "trigger_id": h.slack.issue_trigger_id(user), "view": {**view.view, "state": {"values": _filled(view)}},
            "response_urls": [], "is_enterprise_install": False, "enterprise": None}


def interactive_requests(bot: FuzzBot, payloads: list[JSON]) -> st.SearchStrategy[Request]:
    h = bot.h

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        payload = draw(st.sampled_from(payloads))
        return slack_signed(draw, h, interactive_body(draw, payload), b"application/x-www-form-urlencoded")

    return build()


@pytest.mark.parametrize("seed", SEEDS)
def test_slack_clicks_and_shortcuts(seed: int, db_url: str, clock: ManualClock,
                                    caplog: pytest.LogCaptureFixture) -> None:
    """``block_actions`` on every button, menu and select the bot shows, and the message shortcut."""
    with fuzz_bot(db_url, clock, caplog, prepare_slack) as bot:
        fuzz(bot, seed, interactive_requests(bot, click_payloads(bot.h)), examples=750)


@pytest.mark.parametrize("seed", SEEDS)
def test_slack_view_submissions(seed: int, db_url: str, clock: ManualClock,
                                caplog: pytest.LogCaptureFixture) -> None:
    """``view_submission`` of every modal the bot opens."""
    with fuzz_bot(db_url, clock, caplog, prepare_slack) as bot:
        views = bot.run(open_modals(bot.h))
        payloads = [submission(bot.h, view, ALICE if i < 2 else BOB) for i, view in enumerate(views)]
        fuzz(bot, seed, interactive_requests(bot, payloads), examples=600)


def event_requests(bot: FuzzBot) -> st.SearchStrategy[Request]:
    h = bot.h
    alert = h.slack.messages("platform-alerts")[0]
    channel = incident_channel(h)
    home = h.slack.home(ALICE)
    events: list[JSON] = [
        {"type": "reaction_added", "user": ALICE, "reaction": "eyes", "item_user": alert.user,
         "item": {"type": "message", "channel": alert.channel, "ts": alert.ts}, "event_ts": "1.0"},
        {"type": "reaction_added", "user": BOB, "reaction": "pushpin", "item_user": BOB,
         "item": {"type": "message", "channel": channel.id, "ts": h.slack.messages(channel.id)[0].ts}},
        {"type": "app_home_opened", "user": ALICE, "channel": "D0000001", "tab": "home",
         "view": home.view if home else None},
        {"type": "message", "channel": channel.id, "user": BOB, "text": "restarted the pods", "ts": "1700000001.000100",
         "team": h.slack.team_id, "channel_type": "channel"},
        {"type": "message", "channel": channel.id, "user": BOB, "text": "in a thread", "ts": "1700000002.000100",
         "thread_ts": "1700000001.000100", "channel_type": "channel"},
        {"type": "pin_added", "user": BOB, "channel_id": channel.id,
         "item": {"type": "message", "channel": channel.id, "created_by": BOB,
                  "message": {"type": "message", "user": BOB, "text": "root cause found", "ts": "1700000003.000100"}}},
    ]
    counter = iter(range(10**9))

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        if draw(st.integers(0, 9)) == 0:
            envelope: JSON = {"token": VERIFICATION_TOKEN, "type": "url_verification", "challenge": "c" * 20}
        else:
            envelope = event_envelope(h, draw(st.sampled_from(events)), f"EvFUZZ{next(counter)}")
        body = body_of(draw, envelope)
        content_type = draw(st.sampled_from([b"application/json"] * 5 + [b"application/x-www-form-urlencoded"]))
        return slack_signed(draw, h, body, content_type)

    return build()


@pytest.mark.parametrize("seed", SEEDS)
def test_slack_events(seed: int, db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    """Events API callbacks (reactions, App Home, messages and pins in an incident channel) and the
    URL handshake."""
    with fuzz_bot(db_url, clock, caplog, prepare_slack) as bot:
        fuzz(bot, seed, event_requests(bot), examples=750)


# --- /twilio/* ----------------------------------------------------------------------------------

TWILIO_HEADERS = ("Content-Type", "X-Twilio-Signature")
SMS_BODIES = ["1 A", "1 E", "1 R", "ACK ALL", "LIST", "help", "41 a", "  1   ack  ", "STOP", ""]
STATUS_PAGES = ["1", "2", "0", "", "x", "99999999999999999999", "1" * 30, "-1"]


def twilio_requests() -> st.SearchStrategy[Request]:
    @st.composite
    def build(draw: st.DrawFn) -> Request:
        kind = draw(st.integers(0, 3))
        if kind == 3:
            path, form = draw(voice_request())
        elif kind in (0, 2):
            path = "/twilio/sms"
            form = {"ToCountry": "US", "From": draw(st.sampled_from([PHONE, PHONE, "+15550000002", "+15559999999"])),
                    "To": "+15550009999", "Body": draw(st.sampled_from(SMS_BODIES)), "NumSegments": "1",
                    "MessageSid": f"SM{draw(st.integers(0, 10**6)):032d}", "AccountSid": "AC" + "0" * 32,
                    "ApiVersion": "2010-04-01"}
        elif kind == 1:
            path = f"/twilio/status?{urlencode({'page': draw(st.sampled_from(STATUS_PAGES))})}"
            form = {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "0" * 32,
                    "MessageStatus": draw(st.sampled_from(["delivered", "failed", "undelivered", "sent", "queued"])),
                    "ErrorCode": draw(st.sampled_from(["30003", "", "x"]))}
        body = form_body(draw, form)
        signed = parsed_form(body) if draw(st.integers(0, 5)) else None  # what Twilio would sign; else the original
        signature = twilio_signature(path, form if signed is None else signed)
        request = Request("POST", path.encode(), ((b"Content-Type", b"application/x-www-form-urlencoded"),
                                                  (b"X-Twilio-Signature", signature.encode())), body)
        if draw(st.integers(0, 5)) == 0:
            request = draw(bent_headers(request, TWILIO_HEADERS))
        return request

    return build()


def voice_request() -> st.SearchStrategy[tuple[str, dict[str, str]]]:
    """A call's TwiML fetch, its key press or its status callback, about any page (or none)."""
    @st.composite
    def build(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
        page = draw(st.sampled_from(STATUS_PAGES))
        path = draw(st.sampled_from(["/twilio/voice?page={}", "/twilio/voice?page={}&step=gather",
                                     "/twilio/voice/status?page={}", "/twilio/voice?step=gather&page={}"]))
        form = {"CallSid": f"CA{draw(st.integers(0, 10**6)):032d}", "AccountSid": "AC" + "0" * 32,
                "From": "+15550009999", "To": PHONE,
                "CallStatus": draw(st.sampled_from(["in-progress", "completed", "no-answer", "busy", "failed", ""])),
                "AnsweredBy": draw(st.sampled_from(["human", "machine_start", "fax", "unknown", ""])),
                "Digits": draw(st.sampled_from(["1", "2", "3", "9", "", "11", "#", "١"]))}
        return path.format(urlencode({"p": page})[2:]), form

    return build()


@pytest.mark.parametrize("seed", SEEDS)
def test_twilio_webhooks(seed: int, db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    """SMS replies, delivery status callbacks and the voice webhooks, re-signed with Twilio's RequestValidator."""
    with fuzz_bot(db_url, clock, caplog) as bot:
        fuzz(bot, seed, twilio_requests(), examples=1200)


# --- GET endpoints and everything else ----------------------------------------------------------

def get_requests() -> st.SearchStrategy[Request]:
    bases = [
        Request("GET", b"/healthz"), Request("GET", b"/readyz"), Request("HEAD", b"/healthz"),
        Request("GET", b"/metrics", ((b"Authorization", b"Bearer metrics-token-for-tests"),)),
        Request("GET", b"/oncall/platform.ics?token=" + TOKENS["PLATFORM_ICS_TOKEN"].encode()),
        Request("GET", b"/oncall/payments.ics?token=x"), Request("GET", b"/nowhere"),
        Request("POST", b"/healthz", ((b"Content-Type", b"application/json"),), b"{}"),
    ]

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        request = draw(st.sampled_from(bases))
        how = draw(st.sampled_from(["valid", "target", "target", "headers", "method"]))
        if how == "target":
            target = draw(bent_bytes(request.target)).replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"")
            request = Request(request.method, target or b"/", request.headers, request.body)
        elif how == "headers":
            request = draw(bent_headers(request, ("Authorization", "Content-Type", "Accept", "If-None-Match")))
        elif how == "method":
            method = draw(st.sampled_from(["PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "POST", "CONNECT", "get"]))
            request = Request(method, request.target, request.headers, request.body)
        if draw(st.integers(0, 3)) == 0:
            request = request.with_headers(authorization=draw(header_value), content_type=draw(content_types))
        return request

    return build()


@pytest.mark.parametrize("seed", SEEDS)
def test_get_endpoints(seed: int, db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    """/healthz, /readyz, /metrics, the calendar feeds, and paths and methods the bot does not serve."""
    with fuzz_bot(db_url, clock, caplog) as bot:
        fuzz(bot, seed, get_requests(), examples=1200, accepted=lambda status: False)


# --- heartbeats, the status page and the alert API ---------------------------------------------

BEAT_TOKEN, PAGE_TOKEN, API_TOKEN = "fuzz-beat-token-1", "fuzz-page-token-1", "fuzz-api-token-0001"
MONITORED = f"""
heartbeats:
  - {{name: nightly-backup, every: 24h, grace: 1h, team: platform, token: "{BEAT_TOKEN}"}}
checks:
  - {{name: api-health, url: "http://127.0.0.1:9/health", every: 1m}}
status_page: {{title: Fuzz status, checks: [api-health], public: false, token: "{PAGE_TOKEN}"}}
"""


def monitor_requests() -> st.SearchStrategy[Request]:
    bearer = ((b"Authorization", b"Bearer " + API_TOKEN.encode()),)
    bases = [
        Request("GET", b"/heartbeat/nightly-backup?token=" + BEAT_TOKEN.encode()),
        Request("POST", b"/heartbeat/nightly-backup", ((b"Authorization", b"Bearer " + BEAT_TOKEN.encode()),), b""),
        Request("POST", b"/heartbeat/nightly-backup/fail?token=" + BEAT_TOKEN.encode(),
                ((b"Content-Type", b"text/plain"),), b"pg_dump: error: connection refused"),
        Request("GET", b"/heartbeat/unknown?token=x"),
        Request("GET", b"/status?token=" + PAGE_TOKEN.encode()), Request("GET", b"/status.json?token=x"),
        Request("GET", b"/status.json?token=" + PAGE_TOKEN.encode(), ((b"If-None-Match", b'"abc"'),)),
        Request("GET", b"/api/alerts?status=open&limit=5", bearer),
        Request("GET", b"/api/alerts?status=resolved&team=platform", bearer),
    ]

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        request = draw(st.sampled_from(bases))
        how = draw(st.sampled_from(["valid", "target", "target", "headers", "body", "method"]))
        if how == "target":
            target = draw(bent_bytes(request.target)).replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"")
            request = Request(request.method, target or b"/", request.headers, request.body)
        elif how == "headers":
            request = draw(bent_headers(request, ("Authorization", "Content-Type", "If-None-Match")))
        elif how == "body":
            request = replace(request, body=draw(bent_bytes(request.body or b"reason")))
        elif how == "method":
            method = draw(st.sampled_from(["PUT", "DELETE", "OPTIONS", "PATCH", "POST", "get"]))
            request = Request(method, request.target, request.headers, request.body)
        return request

    return build()


@pytest.mark.parametrize("seed", SEEDS)
def test_monitor_endpoints(seed: int, db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    """Heartbeats (beats and failure reports), the private status page and the alert API."""
    with fuzz_bot(db_url, clock, caplog, config=make_config(MONITORED), settings={"api_token": API_TOKEN}) as bot:
        fuzz(bot, seed, monitor_requests(), examples=600)
