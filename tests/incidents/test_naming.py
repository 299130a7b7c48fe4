"""Incident channel names obey Slack's rules for any title, and what people type is read forgivingly."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.naming import channel_name, slugify
from bot.incidents.policy import IncidentPolicy, UnknownSeverity, parse_role, parse_status
from bot.sandbox.slack_records import channel_name_error
from tests.support.factories import make_config

BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")
LATE = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # already the 25th in Berlin


def test_examples() -> None:
    assert channel_name("inc", "Checkout failing!", LATE, BERLIN) == "inc-2026-11-25-checkout-failing"
    assert channel_name("inc", "Zahlungsausfälle bei Café-Kunden", LATE, UTC_ZONE) == \
        "inc-2026-11-24-zahlungsausfalle-bei-cafe-kunden"
    assert channel_name("inc", "api.example.com 5xx", LATE, BERLIN, attempt=3) == "inc-2026-11-25-api-example-com-5xx-3"
    assert channel_name("inc", "🔥🔥🔥", LATE, BERLIN) == "inc-2026-11-25-incident"
    assert slugify("  --Hello   World--  ") == "hello-world"



@given(title=st.text(max_size=300), attempt=st.integers(min_value=1, max_value=99),
       prefix=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True))
def test_every_title_makes_a_valid_channel_name(title: str, attempt: int, prefix: str) -> None:
    name = channel_name(prefix, title, LATE, BERLIN, attempt=attempt)
    assert channel_name_error(name) is None, name
    assert len(name) <= 80 and name.startswith(f"{prefix}-2026-11-25-")
    assert name.endswith(f"-{attempt}") or attempt == 1


def test_severities_are_read_forgivingly_and_refused_clearly() -> None:
    policy = IncidentPolicy.from_config(make_config())
    assert [policy.severity(t) for t in ("1", "sev2", "SEV3", " Sev 1 ")] == ["SEV1", "SEV2", "SEV3", "SEV1"]
    with pytest.raises(UnknownSeverity, match=r"SEV9 is not an incident severity here; use 1\|2\|3"):
        policy.severity("SEV9")
    assert policy.suggested_severity("critical") == "SEV1" and policy.suggested_severity("info") == "SEV3"


def test_status_words_and_roles() -> None:
    assert parse_status("monitoring: error rate back to normal") == ("monitoring", "error rate back to normal")
    assert parse_status("Mitigated - rolled back") == ("monitoring", "rolled back")
    assert parse_status("still looking at the database") == (None, "still looking at the database")
    assert [parse_role(r) for r in ("IC", "communications", "scribe", "boss")] == ["commander", "comms", "scribe",
                                                                                  None]
