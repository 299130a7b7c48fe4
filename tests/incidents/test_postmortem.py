"""The post-mortem draft: the record, in order, with full dates; broken templates fail loudly."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.postmortem import (
    PostmortemTemplateError,
    default_postmortem_template,
    format_when,
    md,
    md_block,
    render_postmortem,
)
from bot.incidents.postmortem_context import (
    ActionItem,
    Durations,
    ImpactWindow,
    IncidentFacts,
    LinkedAlert,
    PersonPaged,
    PostmortemContext,
    RoleAssignment,
    SeverityChange,
    TimelineItem,
    elapsed,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "playbooks" / "postmortem.md.j2"
T0 = datetime(2026, 11, 24, 13, 0, 0, tzinfo=UTC)  # 14:00 CET
BERLIN = ZoneInfo("Europe/Berlin")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


TIMELINE = (
    TimelineItem(at=at(2), kind="alert", actor="Alertmanager",
                 text="HighErrorRate fired for api (7.2% > 5%)"),
    TimelineItem(at=at(4.25), kind="ack", actor="Alice", text="Acknowledged HighErrorRate"),
    TimelineItem(at=at(6), kind="declared", actor="Alice", text="Declared SEV2: API error rate",
                 permalink="https://acme.slack.com/archives/C0INC/p1764000360000100"),
    TimelineItem(at=at(9), kind="severity", actor="Bob", text="SEV2 → SEV1"),
    TimelineItem(at=at(12), kind="pin", actor="Carol", text="Rollback of api 1.42 | started",
                 permalink="https://acme.slack.com/archives/C0INC/p1764000720000200"),
    TimelineItem(at=at(20), kind="status", actor="Alice", text="Mitigated: error rate back under 1%"),
    TimelineItem(at=at(45), kind="resolved", actor="Alice", text="Resolved"),
)


def make_context(**changes: object) -> PostmortemContext:
    incident = IncidentFacts(
        id=42,
        title="API error rate",
        severity="SEV1",
        status="resolved",
        channel="inc-2026-11-24-api-error-rate",
        declared_at=at(6),
        commander="Alice",
        severity_history=(
            SeverityChange(at=at(6), from_severity=None, to_severity="SEV2", by="Alice"),
            SeverityChange(at=at(9), from_severity="SEV2", to_severity="SEV1", by="Bob"),
        ),
        roles=(RoleAssignment(role="comms", person="Carol"),),
        detected_at=at(2),
        acknowledged_at=at(4.25),
        mitigated_at=at(20),
        resolved_at=at(45),
        summary="api 1.42 returned 500s on checkout after the deploy.",
        affected_service="api",
    )
    values: dict[str, object] = dict(
        incident=incident,
        impact=ImpactWindow(start=at(0), end=at(20), duration=elapsed(at(0), at(20)), services=("api",)),
        durations=Durations.measure(impact_start=at(0), detected_at=at(2), acknowledged_at=at(4.25),
                                    mitigated_at=at(20), resolved_at=at(45)),
        timezone="Europe/Berlin",
        people_paged=(
            PersonPaged(who="Alice", how="slack", at=at(2), step=1, alert="HighErrorRate"),
            PersonPaged(who="Alice", how="sms", at=at(7), step=2, alert="HighErrorRate"),
            PersonPaged(who="Bob", how="slack", at=at(8.5), step=None),
        ),
        timeline=TIMELINE,
        alerts=(
            LinkedAlert(title="HighErrorRate", severity="critical", started_at=at(1), service="api",
                        acknowledged_by="Alice", acknowledged_at=at(4.25), resolved_at=at(30),
                        link="https://acme.slack.com/archives/C0ALERTS/p1764000120000300"),
        ),
        action_items=(
            ActionItem(text="Canary deploys for api", owner="Bob"),
            ActionItem(text="Alert on the checkout_errors_total ratio", owner=None, done=True),
        ),
        generated_at=at(45),
    )
    values.update(changes)
    return PostmortemContext(**values)  # type: ignore[arg-type]


def section(document: str, title: str) -> str:
    """The text between '## title' and the next '## ' heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", document, re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(1).strip()


@pytest.fixture(scope="module")
def document() -> str:
    return render_postmortem(make_context(), TEMPLATE)


def test_title_and_metadata(document: str) -> None:
    assert document.startswith("# Post-mortem: API error rate\n")
    for row in ("| Incident | 42 |", "| Severity | SEV1 |", "| Status | resolved |", "| Commander | Alice |",
                "| Comms | Carol |", "| Channel | #inc-2026-11-24-api-error-rate |",
                "| Affected service | api |", "| Declared | 2026-11-24 14:06:00 CET |",
                "| First alert | 2026-11-24 14:02:00 CET |", "| Acknowledged | 2026-11-24 14:04:15 CET |",
                "| Mitigated | 2026-11-24 14:20:00 CET |", "| Resolved | 2026-11-24 14:45:00 CET |"):
        assert row in document
    assert "declared as SEV2 by Alice at 2026-11-24 14:06:00 CET" in document
    assert "SEV2 → SEV1 by Bob at 2026-11-24 14:09:00 CET" in document
    assert "All times are in Europe/Berlin." in document


def test_summary_and_impact(document: str) -> None:
    assert section(document, "Summary") == "api 1.42 returned 500s on checkout after the deploy."
    impact = section(document, "Impact")
    assert "**Window:** 2026-11-24 14:00:00 CET to 2026-11-24 14:20:00 CET" in impact
    assert "**Duration:** 20m 00s" in impact
    assert "**Services affected:** api" in impact


def test_durations(document: str) -> None:
    durations = section(document, "Durations")
    assert "| Time to detect | 2m 00s |" in durations
    assert "| Time to acknowledge | 2m 15s |" in durations
    assert "| Time to mitigate | 18m 00s |" in durations
    assert "| Time to resolve | 43m 00s |" in durations


def test_people_paged(document: str) -> None:
    rows = [line for line in section(document, "People paged").splitlines() if line.startswith("| 2026")]
    assert rows == [
        "| 2026-11-24 14:02:00 CET | Alice | Slack | step 1 | HighErrorRate |",
        "| 2026-11-24 14:07:00 CET | Alice | SMS | step 2 | HighErrorRate |",
        "| 2026-11-24 14:08:30 CET | Bob | Slack | manual | — |",
    ]


def test_every_timeline_entry_in_order_with_full_dates(document: str) -> None:
    rows = [line for line in section(document, "Timeline").splitlines() if line.startswith("| 2026")]
    assert len(rows) == len(TIMELINE)
    for row, entry in zip(rows, TIMELINE, strict=True):
        local = entry.at.astimezone(BERLIN)
        assert row.startswith(f"| {local:%Y-%m-%d %H:%M:%S} CET | {entry.kind} | {entry.actor} | ")
    assert "Rollback of api 1.42 \\| started" in rows[4]  # a pipe in user text does not split the row
    assert "([message](https://acme.slack.com/archives/C0INC/p1764000720000200))" in rows[4]


def test_alerts_and_action_items(document: str) -> None:
    alerts = section(document, "Alerts")
    assert ("| [HighErrorRate](https://acme.slack.com/archives/C0ALERTS/p1764000120000300) "
            "| critical | api | 2026-11-24 14:01:00 CET | Alice at 2026-11-24 14:04:15 CET "
            "| 2026-11-24 14:30:00 CET |") in alerts
    assert section(document, "Action items").splitlines() == [
        "- [ ] Canary deploys for api — owner: Bob",
        "- [x] Alert on the checkout_errors_total ratio — owner: _unassigned_",
    ]


def test_human_sections_are_left_empty(document: str) -> None:
    assert section(document, "Root cause").startswith("_What made this incident possible")
    whys = section(document, "Five whys").splitlines()
    assert [line for line in whys if re.match(r"\d\. ", line)] == [f"{n}. Why?" for n in range(1, 6)]
    for title in ("What went well", "What went badly", "Where we got lucky"):
        assert section(document, title) == "-"
    follow_up = section(document, "Follow-up")
    assert follow_up.startswith("- [ ] Root cause and five whys written")


def test_sections_come_in_order(document: str) -> None:
    headings = re.findall(r"^## (.+)$", document, re.M)
    assert headings == ["Summary", "Impact", "Durations", "People paged", "Timeline", "Alerts",
                        "Action items", "Root cause", "Five whys", "What went well", "What went badly",
                        "Where we got lucky", "Follow-up"]


def test_every_timestamp_has_date_time_and_zone(document: str) -> None:
    for match in re.finditer(r"\d{2}:\d{2}(:\d{2})?", document):
        before = document[max(0, match.start() - 11):match.start()]
        after = document[match.end():match.end() + 4]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} ", before), document[match.start() - 20:match.end() + 10]
        assert match.group(1) and after in (" CET", " CES"), document[match.start() - 20:match.end() + 10]


def test_an_incident_with_nothing_recorded_still_renders() -> None:
    bare = IncidentFacts(id="INC-7", title="Slow checkout", severity="SEV3", status="investigating",
                         channel="inc-2026-07-01-slow-checkout",
                         declared_at=datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    document = render_postmortem(
        make_context(incident=bare, impact=ImpactWindow(start=None, end=None), durations=Durations(),
                     people_paged=(), timeline=(), alerts=(), action_items=(), generated_at=None),
        TEMPLATE,
    )
    assert "| Declared | 2026-07-01 10:00:00 CEST |" in document  # summer time
    assert "| Resolved | — |" in document
    assert "| Time to resolve | — |" in document
    assert section(document, "Summary") == "—"
    assert "**Window:** — to ongoing" in document
    assert section(document, "People paged") == "Nobody was paged by Watchstander for this incident."
    assert section(document, "Timeline") == "_No timeline entries were recorded._"
    assert section(document, "Alerts") == "No alerts were linked to this incident."
    assert section(document, "Action items").startswith(
        "- [ ] _Add follow-ups with `/incident action <text>`")


def test_user_text_cannot_break_the_document() -> None:
    incident = IncidentFacts(id=1, title="x", severity="SEV2", status="resolved", channel="inc-x",
                             declared_at=T0, summary="Line one *bold*\n# Not a heading\n---\n<script>")
    summary = section(render_postmortem(make_context(incident=incident), TEMPLATE), "Summary")
    assert summary.splitlines() == ["Line one \\*bold\\*", "\\# Not a heading", "\\---", "\\<script\\>"]


# --- broken templates ----------------------------------------------------------------------------


def test_undefined_variable_names_file_line_and_variable(tmp_path: Path) -> None:
    template = tmp_path / "postmortem.md.j2"
    template.write_text(
        "# {{ incident.title }}\n\nCommander: {{ incident.commander }}\nOwner: {{ incident.owner }}\n")
    with pytest.raises(PostmortemTemplateError) as caught:
        render_postmortem(make_context(), template)
    message = str(caught.value)
    assert message.startswith(f"{template}:4: ")
    assert "has no attribute 'owner'" in message
    assert "the template can use incident, impact, durations" in message


def test_unknown_top_level_name(tmp_path: Path) -> None:
    template = tmp_path / "pm.md.j2"
    template.write_text("{% for p in pages %}{{ p.who }}{% endfor %}\n")
    with pytest.raises(PostmortemTemplateError, match=r"pm\.md\.j2:1: 'pages' is undefined"):
        render_postmortem(make_context(), template)


def test_syntax_error_and_missing_template(tmp_path: Path) -> None:
    template = tmp_path / "pm.md.j2"
    template.write_text("ok\n{% if incident.title %}\nno endif\n")
    with pytest.raises(PostmortemTemplateError, match=r"pm\.md\.j2:\d+: template syntax error"):
        render_postmortem(make_context(), template)
    with pytest.raises(PostmortemTemplateError, match="not found"):
        render_postmortem(make_context(), tmp_path / "missing.md.j2")


def test_misused_filter_is_reported_with_its_line(tmp_path: Path) -> None:
    template = tmp_path / "pm.md.j2"
    template.write_text("a\n{{ incident.title | when }}\n")
    with pytest.raises(PostmortemTemplateError, match=r"pm\.md\.j2:2: .*'when' filter needs a datetime"):
        render_postmortem(make_context(), template)


def test_custom_template_gets_the_filters(tmp_path: Path) -> None:
    template = tmp_path / "short.md.j2"
    template.write_text("{{ incident.title | md }} declared {{ incident.declared_at | when }}\n")
    assert render_postmortem(make_context(), template) == "API error rate declared 2026-11-24 14:06:00 CET\n"


def test_bad_timezone_is_reported() -> None:
    with pytest.raises(PostmortemTemplateError, match="unknown time zone 'Mars/Olympus'"):
        render_postmortem(make_context(timezone="Mars/Olympus"), TEMPLATE)


def test_shipped_template_is_the_default() -> None:
    assert default_postmortem_template().resolve() == TEMPLATE


# --- filters -------------------------------------------------------------------------------------


def test_format_when() -> None:
    assert format_when(datetime(2026, 11, 24, 13, 3, 7, tzinfo=UTC), BERLIN) == "2026-11-24 14:03:07 CET"
    assert format_when(datetime(2026, 11, 24, 13, 3, 7), ZoneInfo("UTC")) == "2026-11-24 13:03:07 UTC"
    assert format_when(datetime(2026, 1, 5, 12, 0, tzinfo=UTC), ZoneInfo("America/Sao_Paulo")) == \
        "2026-01-05 09:00:00 UTC-03:00"
    assert format_when(None, ZoneInfo("UTC")) == "—"


def test_md_keeps_identifiers_readable() -> None:
    assert md("pg_stat_activity hit max_connections") == "pg_stat_activity hit max_connections"
    assert md("_italic_ and [link](x)") == "\\_italic\\_ and \\[link\\](x)"
    assert md(None) == "—"
    assert md_block("- a\n- b") == "- a\n- b"


@given(st.text())
def test_md_output_is_one_safe_table_cell(text: str) -> None:
    out = md(text)
    assert "\n" not in out and "\r" not in out
    assert re.search(r"(?<!\\)(\\\\)*\|", out) is None  # every | is escaped
    assert re.search(r"(?<!\\)(\\\\)*<", out) is None
