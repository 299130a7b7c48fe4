"""The Twilio stand-in, driven by the real twilio client, and its webhooks checked by RequestValidator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.clock import ManualClock
from bot.sandbox.sms_format import sms_segments, twiml_messages
from bot.sandbox.twilio import TwilioStandIn
from bot.sandbox.twilio_optout import OPT_IN_REPLY, OPT_OUT_REPLY

BOT_NUMBER = "+15005550006"
ALICE = "+15550000001"
BOB = "+15550000002"
UNSUBSCRIBED = "+15550000099"
PAGE = "CRITICAL HighErrorRate (api): error rate 7.2% > 5%. Reply 41 A to ack, 41 E to escalate, 41 R to resolve"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))


@pytest.fixture
async def twilio(clock: ManualClock) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(auth_token="test-auth-token", from_numbers=[BOT_NUMBER],
                             failing_numbers={UNSUBSCRIBED: 21610}, clock=clock) as stand_in:
        yield stand_in


@pytest.fixture
async def client(twilio: TwilioStandIn) -> AsyncIterator[Client]:
    """The real client, pointed at the stand-in: only the API domain's base URL changes."""
    http = AsyncTwilioHttpClient()
    client = Client(twilio.account_sid, twilio.auth_token, http_client=http)
    client.api.base_url = twilio.api_url
    yield client
    await http.close()


async def test_create_answers_like_twilio(twilio: TwilioStandIn, client: Client, clock: ManualClock) -> None:
    sent = await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body=PAGE,
                                              status_callback="https://bot.example/twilio/status")

    assert sent.sid is not None and sent.sid.startswith("SM") and len(sent.sid) == 34
    assert (sent.status, sent.num_segments, sent.direction, sent.to) == ("queued", "1", "outbound-api", ALICE)
    assert sent.date_created == clock.now()
    (recorded,) = twilio.sent_to(ALICE)
    assert (recorded.body, recorded.status_callback, recorded.segments) == (
        PAGE, "https://bot.example/twilio/status", 1)


def test_segments_follow_gsm7_and_ucs2_rules() -> None:
    assert sms_segments("a" * 160) == (1, "GSM-7")
    assert sms_segments("a" * 161) == (2, "GSM-7")
    assert sms_segments("{" * 80) == (1, "GSM-7")  # extension characters take two septets
    assert sms_segments("{" * 81) == (2, "GSM-7")
    assert sms_segments("é" * 160) == (1, "GSM-7")
    assert sms_segments("🔴" + "a" * 68) == (1, "UCS-2")  # the emoji is two UTF-16 units
    assert sms_segments("🔴" + "a" * 69) == (2, "UCS-2")
    assert sms_segments("ç" * 135) == (3, "UCS-2")  # lowercase ç is not GSM-7


async def test_wrong_credentials_get_twilios_401(twilio: TwilioStandIn) -> None:
    http = AsyncTwilioHttpClient()
    client = Client(twilio.account_sid, "wrong-token", http_client=http)
    client.api.base_url = twilio.api_url
    try:
        with pytest.raises(TwilioRestException) as caught:
            await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body="x")
    finally:
        await http.close()
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert caught.value.msg == "Unable to create record: Authenticate"  # twilio-python prefixes the message
    assert not twilio.messages


@pytest.mark.parametrize(
    ("to", "from_", "body", "code"),
    [
        ("5550000001", BOT_NUMBER, "x", 21211),
        (UNSUBSCRIBED, BOT_NUMBER, "x", 21610),
        (ALICE, "+15559999999", "x", 21606),
        (ALICE, BOT_NUMBER, "x" * 1601, 21617),
    ],
)
async def test_refusals_carry_twilio_error_codes(client: Client, to: str, from_: str, body: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(to=to, from_=from_, body=body)
    assert (caught.value.status, caught.value.code) == (400, code)


async def test_fail_next_then_recover(twilio: TwilioStandIn, client: Client) -> None:
    twilio.fail_next(503)
    twilio.fail_next(429)
    for status, code in [(503, 20503), (429, 20429)]:
        with pytest.raises(TwilioRestException) as caught:
            await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body="x")
        assert (caught.value.status, caught.value.code) == (status, code)
    assert (await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body="x")).status == "queued"


async def test_list_filters_and_fetch(twilio: TwilioStandIn, client: Client, clock: ManualClock) -> None:
    early = await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body="early")
    clock.advance(timedelta(hours=2))
    later = await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body="later")
    await client.messages.create_async(to=BOB, from_=BOT_NUMBER, body="bob")

    to_alice = await client.messages.list_async(to=ALICE)
    assert [m.sid for m in to_alice] == [later.sid, early.sid]  # newest first, like Twilio
    recent = await client.messages.list_async(to=ALICE, date_sent_after=clock.now() - timedelta(hours=1))
    assert [m.body for m in recent] == ["later"]
    paged = await client.messages.list_async(page_size=2)
    assert len(paged) == 3  # the client followed next_page_uri back to the stand-in
    assert early.sid is not None
    fetched = await client.messages(early.sid).fetch_async()
    assert fetched.body == "early"


class Bot:
    """Just enough of the bot's Twilio endpoints to check what arrives, validating like the bot must."""

    def __init__(self, auth_token: str, public_url: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.public_url = public_url
        self.params: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        signed_url = self.public_url + request.path
        if not self.validator.validate(signed_url, params, request.headers.get("X-Twilio-Signature", "")):
            return web.Response(status=403, text="bad signature")
        self.params.append(params)
        if request.path == "/twilio/sms":
            twiml = f"<?xml version='1.0' encoding='UTF-8'?><Response><Message>Acked 41: {params['Body']}</Message>" \
                    "</Response>"
            return web.Response(text=twiml, content_type="application/xml")
        return web.Response(status=204)


@pytest.fixture
async def bot(twilio: TwilioStandIn) -> AsyncIterator[tuple[Bot, str]]:
    """The bot believes it is at https://watch.example.com (PUBLIC_URL); it listens on a loopback port."""
    bot = Bot(twilio.auth_token, "https://watch.example.com")
    app = web.Application()
    app.router.add_post("/twilio/sms", bot.handle)
    app.router.add_post("/twilio/status", bot.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield bot, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_status_callback_is_signed_over_the_configured_url(
    twilio: TwilioStandIn, client: Client, bot: tuple[Bot, str]
) -> None:
    receiver, local = bot
    sent = await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body=PAGE,
                                              status_callback="https://watch.example.com/twilio/status")
    assert sent.sid is not None

    result = await twilio.deliver(sent.sid, "undelivered", connect_url=local + "/twilio/status")

    assert result.status == 204
    params = receiver.params[-1]
    assert (params["MessageSid"], params["MessageStatus"], params["ErrorCode"], params["To"]) == (
        sent.sid, "undelivered", "30003", ALICE)
    fetched = await client.messages(sent.sid).fetch_async()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


async def test_inbound_reply_gets_twiml_answer(twilio: TwilioStandIn, client: Client, bot: tuple[Bot, str]) -> None:
    receiver, local = bot
    await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body=PAGE)

    result = await twilio.reply(local + "/twilio/sms", from_=ALICE, body="41 A",
                                public_url="https://watch.example.com/twilio/sms")

    assert result.status == 200 and result.messages == ["Acked 41: 41 A"]
    assert (receiver.params[-1]["To"], receiver.params[-1]["From"]) == (BOT_NUMBER, ALICE)
    assert receiver.params[-1]["MessageSid"].startswith("SM") and receiver.params[-1]["NumMedia"] == "0"
    assert [(m.direction, m.body) for m in twilio.sent_to(ALICE)] == [
        ("outbound-api", PAGE), ("outbound-reply", "Acked 41: 41 A")]
    unsigned_for_public = await twilio.reply(local + "/twilio/sms", from_=ALICE, body="41 A")
    assert unsigned_for_public.status == 403  # signed over the local URL, the bot checks the public one


async def test_stop_blocks_the_number_like_twilio_and_start_unblocks_it(
    twilio: TwilioStandIn, client: Client, bot: tuple[Bot, str]
) -> None:
    receiver, local = bot
    await twilio.reply(local + "/twilio/sms", from_=ALICE, body=" Stop ", to=BOT_NUMBER,
                       public_url="https://watch.example.com/twilio/sms")
    assert receiver.params[-1]["Body"] == " Stop "  # the webhook is called too
    with pytest.raises(TwilioRestException) as refused:
        await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body=PAGE)
    assert (refused.value.status, refused.value.code) == (400, 21610)
    await twilio.reply(local + "/twilio/sms", from_=ALICE, body="START", to=BOT_NUMBER,
                       public_url="https://watch.example.com/twilio/sms")
    await client.messages.create_async(to=ALICE, from_=BOT_NUMBER, body=PAGE)
    confirmations = [m.body for m in twilio.sent_to(ALICE) if m.body in (OPT_OUT_REPLY, OPT_IN_REPLY)]
    assert confirmations == [OPT_OUT_REPLY, OPT_IN_REPLY]
    await twilio.reply(local + "/twilio/sms", from_=ALICE, body="stop please", to=BOT_NUMBER,
                       public_url="https://watch.example.com/twilio/sms")
    assert twilio.opted_out == set()  # only the whole message is a keyword


async def test_wait_for_sms_wakes_on_arrival(twilio: TwilioStandIn, client: Client) -> None:
    send = asyncio.create_task(client.messages.create_async(to=BOB, from_=BOT_NUMBER, body="Reply 7 A to ack"))
    sms = await twilio.wait_for_sms(BOB, contains="7 A")
    await send
    assert sms.body == "Reply 7 A to ack"
    with pytest.raises(TimeoutError, match="1 SMS"):
        await twilio.wait_for(lambda: twilio.sent_to(ALICE), timeout=0.05)


def test_twiml_parsing() -> None:
    assert twiml_messages("<Response><Message><Body>hi</Body></Message><Message>2</Message></Response>") == [
        "hi", "2"]
    assert twiml_messages("") == []
    with pytest.raises(ValueError, match="malformed"):
        twiml_messages("<Response><Message>")
