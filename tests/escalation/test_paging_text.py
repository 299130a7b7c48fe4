"""The pure parts of paging: SMS bodies that fit one GSM-7 segment, forgiving reply parsing, policy timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.escalation.policy import EscalationStep, Policy, Position
from bot.escalation.sms_reply import NotUnderstood, ReplyAction, SmsCommand, parse_reply
from bot.escalation.sms_text import page_text, septets
from bot.sandbox.sms_format import sms_segments


def test_the_example_page_reads_as_the_spec_says() -> None:
    assert page_text(severity="critical", title="HighErrorRate", service="api", description="error rate 7.2% > 5%",
                     code=41) == ("CRITICAL HighErrorRate (api): error rate 7.2% > 5%. Reply 41 A to ack, "
                                  "41 E to escalate, 41 R to resolve")


def test_long_descriptions_are_cut_not_the_instructions() -> None:
    body = page_text(severity="high", title="DiskFull", service="db", description="x " * 300, code=7)
    assert sms_segments(body) == (1, "GSM-7") and len(body) <= 160
    assert body.startswith("HIGH DiskFull (db): x x") and "...." not in body
    assert body.endswith("... Reply 7 A to ack, 7 E to escalate, 7 R to resolve")


def test_emoji_and_typography_never_make_it_ucs2() -> None:
    body = page_text(severity="critical", title="🔥 Payments “down” — café", service="pay",
                     description="p99 → 3 s … ✅", code=12)
    assert sms_segments(body)[1] == "GSM-7"
    assert body.startswith('CRITICAL Payments "down" - café (pay): p99 -> 3 s. Reply 12 A')


@given(title=st.text(max_size=400), description=st.text(max_size=2000), service=st.none() | st.text(max_size=60),
       code=st.integers(10, 999))
def test_any_page_fits_one_gsm7_segment_and_keeps_its_code(title: str, description: str, service: str | None,
                                                           code: int) -> None:
    body = page_text(severity="critical", title=title, service=service, description=description, code=code)
    assert sms_segments(body) == (1, "GSM-7")
    assert septets(body) <= 160
    assert body.endswith(f"Reply {code} A to ack, {code} E to escalate, {code} R to resolve")


@pytest.mark.parametrize("text, expected", [
    ("41 A", SmsCommand(ReplyAction.ACK, (41,))),
    ("a 41", SmsCommand(ReplyAction.ACK, (41,))),
    ("ack 41", SmsCommand(ReplyAction.ACK, (41,))),
    ("41 ack", SmsCommand(ReplyAction.ACK, (41,))),
    ("41a", SmsCommand(ReplyAction.ACK, (41,))),
    ("ACK ALL", SmsCommand(ReplyAction.ACK, (), every=True)),
    ("41 e", SmsCommand(ReplyAction.ESCALATE, (41,))),
    ("esc 41!", SmsCommand(ReplyAction.ESCALATE, (41,))),
    ("41 R", SmsCommand(ReplyAction.RESOLVE, (41,))),
    ("resolved 41.", SmsCommand(ReplyAction.RESOLVE, (41,))),
    ("  41 ,  17   a ", SmsCommand(ReplyAction.ACK, (41, 17))),
    ("A", SmsCommand(ReplyAction.ACK, ())),
    ("?", SmsCommand(ReplyAction.HELP)),
])
def test_replies_are_read_forgivingly(text: str, expected: SmsCommand) -> None:
    assert parse_reply(text) == expected


@pytest.mark.parametrize("text, problem", [
    ("", "The reply was empty."),
    ("41", "What should happen to 41?"),
    ("41 a r", "more than one thing"),
    ("41 a please", 'Did not understand "please"'),
    ("41 all a", "either codes or ALL"),
])
def test_unclear_replies_say_why(text: str, problem: str) -> None:
    with pytest.raises(NotUnderstood, match=problem):
        parse_reply(text)


DEFAULT = Policy(steps=(EscalationStep(timedelta(0), ("slack:primary",)),
                        EscalationStep(timedelta(minutes=5), ("sms:primary",)),
                        EscalationStep(timedelta(minutes=10), ("sms:backup", "slack:backup")),
                        EscalationStep(timedelta(minutes=20), ("slack:channel",))), repeat=1)


def test_deadlines_follow_the_offsets_and_the_repeat_starts_one_gap_after_the_last_step() -> None:
    t0 = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    at: Position | None = Position(0, 0)
    minutes = []
    while at is not None:
        minutes.append(int((DEFAULT.deadline(t0, at) - t0).total_seconds() // 60))
        at = DEFAULT.following(at)
    assert minutes == [0, 5, 10, 20, 30, 35, 40, 50]
    assert Policy.from_json(DEFAULT.to_json()) == DEFAULT


@given(offsets=st.lists(st.integers(0, 3600), min_size=1, max_size=6).map(sorted), repeat=st.integers(0, 3))
def test_every_step_runs_once_per_round_in_order(offsets: list[int], repeat: int) -> None:
    policy = Policy(tuple(EscalationStep(timedelta(seconds=o), ("slack:primary",)) for o in offsets), repeat)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    seen: list[Position] = []
    at: Position | None = Position(0, 0)
    while at is not None:
        seen.append(at)
        at = policy.following(at)
    assert len(seen) == len(offsets) * (repeat + 1)
    deadlines = [policy.deadline(t0, p) for p in seen]
    assert deadlines == sorted(deadlines)
    assert all(b > a for a, b in zip(deadlines[len(offsets) - 1::len(offsets)], deadlines[len(offsets)::len(offsets)],
                                     strict=False))
