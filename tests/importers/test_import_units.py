"""The import's parts on their own: rendering layers across clock changes, restrictions,
overlapping rotations, bad values in otherwise good exports, and the saved-response layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.importers.fetch import DirFetcher
from bot.importers.jsonread import ImportFailed
from bot.importers.mapping import map_export
from bot.importers.model import (
    Export,
    ImportedLayer,
    ImportedPerson,
    ImportedPolicy,
    ImportedSchedule,
    ImportedStep,
    ImportedTarget,
    Restriction,
)
from bot.importers.plan import mask_phone, plan_text
from bot.importers.timeline import final_shifts, holder, overlap

BERLIN = "Europe/Berlin"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def weekly(members: list[str], start: str, *, restrictions: list[Restriction] | None = None) -> ImportedLayer:
    return ImportedLayer("Weekly", at(start), None, at(start), timedelta(weeks=1), members, restrictions or [])


def test_whole_day_turns_keep_their_local_handoff_across_the_clock_change() -> None:
    s = ImportedSchedule("S", "s", BERLIN, [weekly(["a", "b"], "2027-03-22T09:00:00+01:00")])
    shifts = final_shifts(s, at("2027-03-22T00:00:00+00:00"), at("2027-04-12T00:00:00+00:00"))
    assert [x.start for x in shifts] == [at("2027-03-22T08:00:00+00:00"), at("2027-03-29T07:00:00+00:00"),
                                         at("2027-04-05T07:00:00+00:00")]  # 09:00 CET, then 09:00 CEST
    assert [x.person for x in shifts] == ["a", "b", "a"]


def test_hourly_turns_are_elapsed_time() -> None:
    layer = ImportedLayer("12h", at("2027-03-27T07:00:00+00:00"), None, at("2027-03-27T07:00:00+00:00"),
                          timedelta(hours=12), ["a", "b"], wall_clock=False)
    shifts = final_shifts(ImportedSchedule("S", "s", "Europe/London", [layer]), at("2027-03-27T07:00:00+00:00"),
                          at("2027-03-29T07:00:00+00:00"))
    assert [x.start.hour for x in shifts] == [7, 19, 7, 19]  # UTC; 08:00/20:00 BST after the change


def test_a_restricted_top_layer_shows_the_one_below_outside_its_hours() -> None:
    days = [Restriction(time(9), timedelta(hours=8), weekday=d) for d in range(5)]
    top = ImportedLayer("Day", at("2027-03-01T09:00:00-05:00"), None, at("2027-03-01T09:00:00-05:00"),
                        timedelta(days=1), ["day"], days)
    s = ImportedSchedule("S", "s", "America/New_York", [weekly(["night"], "2027-03-01T09:00:00-05:00"), top])
    shifts = final_shifts(s, at("2027-03-12T00:00:00+00:00"), at("2027-03-16T00:00:00+00:00"))
    assert holder(shifts, at("2027-03-12T15:00:00+00:00")) == "day"    # Fri 10:00 EST
    assert holder(shifts, at("2027-03-12T23:00:00+00:00")) == "night"  # Fri 18:00
    assert holder(shifts, at("2027-03-13T15:00:00+00:00")) == "night"  # Saturday
    assert holder(shifts, at("2027-03-15T13:30:00+00:00")) == "day"    # Mon 09:30 EDT
    assert holder(shifts, at("2027-03-15T12:30:00+00:00")) == "night"  # Mon 08:30 EDT


def test_overlapping_cumulative_rotations_are_reported() -> None:
    people = [ImportedPerson(v, v.title(), f"{v}@example.com", BERLIN, slack_id=f"U0{v.upper()}0001") for v in "ab"]
    s = ImportedSchedule("S", "Both", BERLIN, [weekly(["a"], "2027-03-01T09:00:00+01:00"),
                                               weekly(["b"], "2027-03-01T09:00:00+01:00",
                                                      restrictions=[Restriction(time(9), timedelta(hours=8))])],
                         cumulative=True)
    assert overlap(s, at("2027-03-08T00:00:00+00:00"), at("2027-03-15T00:00:00+00:00")) == timedelta(hours=56)
    policy = ImportedPolicy("P", "Team", [ImportedStep(timedelta(0), [ImportedTarget("schedule", "S", "Both")])])
    export = Export("Opsgenie", people=people, schedules=[s], policies=[policy])
    text = plan_text(map_export(export, now=at("2027-03-08T00:00:00+00:00"), public_url="https://x"))
    assert "rotations 'Both': overlap for 224h in the next four weeks: Opsgenie notifies everyone on call" in text


def test_bad_phone_and_email_are_left_out_with_the_reason() -> None:
    person = ImportedPerson("p", "Pat", "not-an-address", BERLIN, phone="+12", slack_id="U0PAT0001")
    text = plan_text(map_export(Export("PagerDuty", people=[person]), now=datetime.now(UTC), public_url="https://x"))
    assert "phone 'Pat': is not a full international number" in text
    assert "e-mail 'Pat': is not an e-mail address" in text


def test_phones_are_masked() -> None:
    assert mask_phone("+4915112345601") == "+•••••••••••01"


async def test_saved_pages_are_read_by_offset_and_by_next_link(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text(json.dumps({"users": [1], "more": True}))
    (tmp_path / "users.offset-1.json").write_text(json.dumps({"users": [2], "more": False}))
    (tmp_path / "things.page-2.json").write_text(json.dumps({"results": []}))
    fetcher = DirFetcher(tmp_path, "X")
    assert (await fetcher.get("/users", {"offset": "1", "limit": "100"}))["users"] == [2]
    assert (await fetcher.get("https://oncall.example.com/oncall/api/v1/things/?page=2"))["results"] == []
    with pytest.raises(ImportFailed, match=r"schedules/P1\.json is missing"):
        await fetcher.get("/schedules/P1")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ImportFailed, match="expected a JSON object, got list"):
        await fetcher.get("/list")


def test_an_empty_turn_lets_the_layer_below_show() -> None:
    from bot.importers.timeline import NOBODY

    s = ImportedSchedule("S", "s", BERLIN, [weekly(["base"], "2027-03-01T09:00:00+01:00"),
                                            weekly(["a", NOBODY], "2027-03-01T09:00:00+01:00")])
    shifts = final_shifts(s, at("2027-03-01T08:00:00+00:00"), at("2027-03-15T08:00:00+00:00"))
    assert [(x.person, x.start.day) for x in shifts] == [("a", 1), ("base", 8)]
