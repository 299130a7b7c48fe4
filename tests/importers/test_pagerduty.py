"""``watchstander import pagerduty`` end to end: a recorded PagerDuty account served by a local
stand-in (paged lists, the Token header checked), people found in the Slack stand-in by e-mail,
then --plan, --write, check-config, the overrides in the database, and the bot's own on-call
answer compared with PagerDuty's at 30 instants over the next four weeks. "Now" is injected
(--now), so the tests pass on any date and under faketime."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.config import load_config
from bot.importers import pagerduty
from bot.importers.compare import watchstander_primaries
from bot.importers.fetch import DirFetcher
from bot.importers.mapping import map_export
from tests.importers.standins import (
    FIXTURES,
    NOW,
    PAGERDUTY_LISTS,
    SLACK_PEOPLE,
    Paging,
    Ran,
    VendorStandIn,
    World,
    run_cli,
    same_primaries,
    succeeded,
    world_of,
)

TOKEN = "u+pdTestTok3n-xyz"
FOLDER = FIXTURES / "pagerduty"
AT = datetime.fromisoformat(NOW)
ENV_TOKENS = {"WS_TOKEN_PLATFORM_API": "platform-api-token-1", "WS_TOKEN_CHECKOUT": "checkout-token-22",
              "WS_TOKEN_DATA_PIPELINE": "data-pipeline-token-3"}


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    vendor = VendorStandIn(folder=FOLDER, auth=f"Token token={TOKEN}", list_keys=PAGERDUTY_LISTS,
                           paging=Paging("offset", size=4))
    async with world_of(tmp_path, vendor, lambda url: ["pagerduty", "--api-token", TOKEN, "--api-url", url]) as w:
        yield w


def ok(ran: Ran) -> str:
    return succeeded(ran, TOKEN)


async def test_plan_shows_every_mapping_and_writes_nothing(world: World) -> None:
    out = ok(await run_cli(world.api("--plan"), world.env, world.tmp))
    assert out.startswith("Import from PagerDuty: 12 people, 3 teams, 4 schedules, 5 overrides, "
                          "3 escalation policies, 4 integrations")
    # people: e-mail → Slack id (Dmitri's address differs in case), zone, masked phone, rules
    assert ("  Alice Berger: alice@example.com → U0ALICE01; Europe/Berlin; phone +•••••••••••01; notify slack +0m "
            "(push notification → Slack DM), sms +5m, call +10m") in out
    assert "Dmitri Ivanov: dmitri@example.com → U0DMITRI1" in out
    assert "15112345601" not in out
    assert "Liam O'Brien: liam@contractor.example.net → NOT FOUND in Slack" in out
    # schedules: the plain weekly one is a rotation; the layered/restricted ones calendars, with why
    assert ("schedule: one layer 'Weekly': a weekly rotation of 4, handoff mon 09:00 Europe/Berlin, from "
            "2027-03-08 (the turn in force now)") in out
    assert "restricted hours (Business hours: mon 09:00 for 8h;" in out
    assert "written to payments.ics until 2028-03-09" in out
    assert "layer '12-hour': 3 people, turns of 12h" in out
    # policies: delays add up, other teams' schedules through their Slack group, repeats
    assert "escalation level 2 at +15m: person:U0DMITRI1, slack:@payments-oncall" in out
    assert "escalation then the whole policy again, 2 time(s)" in out
    assert "escalation level 2 at +10m: person:U0EMMA001" in out
    # integrations with the URL each sender must be pointed at
    assert ("Checkout: Datadog → integration checkout: POST https://watchstander.example.com/v2/enqueue with "
            "routing_key = $WS_TOKEN_CHECKOUT") in out
    # overrides: current and future only
    assert "Overrides to load into the database (4, current and future)" in out
    assert "platform: Bruno Costa (U0BRUNO01) 2027-03-09T18:00:00+01:00 → 2027-03-11T09:00:00+01:00" in out
    # nothing silently dropped
    for line in ["person \"Liam O'Brien\": no Slack user has the e-mail liam@contractor.example.net",
                 "policy target \"Payments Escalation level 2: Liam O'Brien\": this person has no Slack user",
                 "schedule 'Platform Shadow': no escalation policy pages it at its first level",
                 "integration 'Platform API: Email': generic_email_inbound_integration: Watchstander takes no alerts",
                 "service 'Legacy Batch': has no integrations",
                 "schedule layers 'Data Follow-the-sun': 2 layers, restricted hours (Weekend: sat 00:00 for 48h)"]:
        assert line in out, line
    assert sorted(p.name for p in world.tmp.iterdir()) == []
    assert world.vendor.requests.count("/users") == 3  # 12 people, 4 a page
    assert "/schedules/PSCH003/overrides" in world.vendor.requests


async def test_from_dir_reads_the_same_export(world: World) -> None:
    api = ok(await run_cli(world.api("--plan"), world.env, world.tmp))
    saved = ok(await run_cli(["import", "pagerduty", "--from-dir", str(FOLDER), "--plan", "--now", NOW],
                             world.env, world.tmp))
    assert saved == api


async def test_write_check_config_and_the_same_primary_at_30_instants(world: World) -> None:
    target = world.tmp / "watchstander.yaml"
    out = ok(await run_cli(world.api("--write", str(target)), world.env, world.tmp))
    assert "loaded 4 override(s) into the database" in out
    assert "WS_TOKEN_CHECKOUT" in out
    written = yaml.safe_load(target.read_text())
    assert [t["name"] for t in written["teams"]] == ["platform", "payments", "data"]
    assert written["teams"][0]["schedule"] == {"rotation": "weekly", "handoff": "mon 09:00",
                                               "timezone": "Europe/Berlin", "start": "2027-03-08",
                                               "primary": ["U0CHLOE01", "U0DMITRI1", "U0ALICE01", "U0BRUNO01"]}
    assert written["teams"][1]["schedule"] == {"ical": "payments.ics", "timezone": "America/New_York"}
    assert written["teams"][1]["slack_handle"] == "payments-oncall"
    assert written["integrations"][1] == {"name": "checkout", "type": "pagerduty", "token": "${WS_TOKEN_CHECKOUT}",
                                          "team": "payments"}
    alice = written["people"][0]
    assert alice == {"slack_id": "U0ALICE01", "name": "Alice Berger", "phone": "+4915112345601",
                     "email": "alice@example.com", "timezone": "Europe/Berlin",
                     "notify": [{"after": "0m", "via": "slack"}, {"after": "5m", "via": "sms"},
                                {"after": "10m", "via": "call"}]}
    assert (world.tmp / "data.ics").exists()

    checked = ok(await run_cli(["check-config", str(target)], {**world.env, **ENV_TOKENS}, world.tmp))
    assert "warning" not in checked

    again = ok(await run_cli(world.api("--write", str(target)), world.env, world.tmp))
    assert "loaded 0 override(s) into the database (4 were already there)" in again
    assert "kept the previous " in again and f"{target}.bak" in again
    assert (world.tmp / "watchstander.yaml.bak").read_text() == target.read_text()

    export = await pagerduty.read(DirFetcher(FOLDER, "PagerDuty"), AT)
    for p in export.people:
        p.slack_id = next((u.id for u in SLACK_PEOPLE if u.email and p.email and u.email.lower() == p.email), None)
    for team, expected in (await same_primaries(world, export, target, ENV_TOKENS)).items():
        assert len(set(expected)) >= 2, team  # the instants see more than one person on call


# Worked out by hand from the recorded account, independently of the importer's own arithmetic.
HAND = [
    ("platform", "2027-03-10T12:00:00+00:00", "U0BRUNO01"),  # override Tue 18:00 → Thu 09:00 CET
    ("platform", "2027-03-11T08:30:00+00:00", "U0CHLOE01"),  # week 26 since 7 Sep 2026: 26 % 4 = 2
    ("platform", "2027-03-15T08:30:00+00:00", "U0DMITRI1"),  # Mon 09:00 CET = 08:00 UTC: week 27
    ("platform", "2027-03-21T12:00:00+00:00", "U0CHLOE01"),  # override 20–22 March
    ("platform", "2027-03-29T06:30:00+00:00", "U0ALICE01"),  # 08:30 CEST, before the 09:00 handoff
    ("platform", "2027-03-29T07:30:00+00:00", "U0BRUNO01"),  # 09:30 CEST: week 29
    ("payments", "2027-03-10T12:00:00+00:00", "U0GRACE01"),  # 07:00 EST: weekly layer, week 26 % 3 = 2
    ("payments", "2027-03-10T15:00:00+00:00", "U0FARID01"),  # 10:00 EST: business-hours layer, day 190 % 2 = 0
    ("payments", "2027-03-15T14:00:00+00:00", "U0GRACE01"),  # override Mon 15 March (EDT since the 14th)
    ("payments", "2027-03-17T13:30:00+00:00", "U0GRACE01"),  # 09:30 EDT: business hours moved with the clocks, day 197
    ("payments", "2027-03-17T12:30:00+00:00", "U0EMMA001"),  # 08:30 EDT: weekly layer, the Wed 10:00 handoff is later
    ("payments", "2027-03-20T15:00:00+00:00", "U0FARID01"),  # Saturday: no business hours; week 28 % 3 = 1
    ("data", "2027-03-10T12:00:00+00:00", "U0JONAS01"),     # 12-hour turn 380 (from 07:00 UTC) % 3 = 2
    ("data", "2027-03-13T12:00:00+00:00", "U0JONAS01"),     # Saturday: the weekend layer, week 27 % 2 = 1
    ("data", "2027-03-27T12:00:00+00:00", "U0KAVYA01"),     # override across the UK clock change
    ("data", "2027-03-29T07:30:00+00:00", "U0KAVYA01"),     # 12 h of elapsed time: turns at 08:00/20:00 BST now, 418 % 3
]


@pytest.mark.parametrize(("team", "at", "who"), HAND)
async def test_hand_checked_instants(world: World, team: str, at: str, who: str) -> None:
    target = world.tmp / "watchstander.yaml"
    ok(await run_cli(world.api("--write", str(target)), world.env, world.tmp))
    config = load_config(target, env=ENV_TOKENS)
    got = await watchstander_primaries(config, base_dir=world.tmp, database_url=world.env["DATABASE_URL"],
                                       team=team, instants=[datetime.fromisoformat(at)])
    assert got == [who]


async def test_compare_side_by_side(world: World) -> None:
    target = world.tmp / "watchstander.yaml"
    ok(await run_cli(world.api("--write", str(target)), world.env, world.tmp))
    out = ok(await run_cli(world.api("--compare"), world.env, world.tmp))
    assert "Who is on call at each handoff, PagerDuty | Watchstander (times in each team's zone)" in out
    assert "0 difference(s)" in out
    assert "  Mon 2027-03-15 09:00  Dmitri Ivanov            | Dmitri Ivanov" in out
    # a hand edit in Watchstander shows up as a difference
    text = target.read_text().replace("- U0CHLOE01\n    - U0DMITRI1", "- U0DMITRI1\n    - U0CHLOE01")
    target.write_text(text)
    differs = await run_cli(world.api("--compare"), world.env, world.tmp)
    assert differs.code == 3
    assert "≠ Mon 2027-03-15 09:00  Dmitri Ivanov            | Chloé Dubois" in differs.out


async def test_compare_before_writing_uses_the_mapped_config(world: World) -> None:
    out = ok(await run_cli(world.api("--compare"), world.env, world.tmp))
    assert "0 difference(s)" in out
    assert not (world.tmp / "watchstander.yaml").exists()


@pytest.mark.parametrize("status", [500, 429])
async def test_vendor_error_in_the_middle_writes_nothing(world: World, status: int) -> None:
    world.vendor.faults["/escalation_policies"] = status
    target = world.tmp / "watchstander.yaml"
    ran = await run_cli(world.api("--write", str(target)), world.env, world.tmp)
    assert ran.code == 1
    assert "Traceback" not in ran.err
    assert "import failed: PagerDuty" in ran.err and "/escalation_policies" in ran.err
    assert "nothing was written" in ran.err
    assert TOKEN not in ran.err
    assert list(world.tmp.iterdir()) == []
    assert world.vendor.requests.count("/escalation_policies") == 3  # tried again before giving up


async def test_write_without_slack_refuses(world: World) -> None:
    env = {k: v for k, v in world.env.items() if k != "SLACK_BOT_TOKEN"}
    ran = await run_cli(world.api("--write", str(world.tmp / "watchstander.yaml")), env, world.tmp)
    assert ran.code == 1
    assert "nobody could be matched to a Slack user" in ran.err
    assert list(world.tmp.iterdir()) == []


async def test_a_429_that_clears_is_tried_again(world: World) -> None:
    world.vendor.flaky["/teams"] = 2
    out = ok(await run_cli(world.api("--plan"), world.env, world.tmp))
    assert "3 teams" in out
    assert world.vendor.requests.count("/teams") == 3


async def test_a_body_that_is_not_json(world: World) -> None:
    world.vendor.garbage.add("/services")
    ran = await run_cli(world.api("--write", str(world.tmp / "watchstander.yaml")), world.env, world.tmp)
    assert ran.code == 1 and "Traceback" not in ran.err
    assert "import failed: PagerDuty /services: not valid JSON" in ran.err
    assert list(world.tmp.iterdir()) == []


async def test_wrong_token(world: World) -> None:
    args = world.api("--plan")
    args[args.index(TOKEN)] = "wrong-token"
    ran = await run_cli(args, world.env, world.tmp)
    assert ran.code == 1
    assert "PagerDuty refused the credentials (HTTP 401 on /users)" in ran.err
    assert "wrong-token" not in ran.err


async def test_bad_export_folder(world: World, tmp_path: Path) -> None:
    broken = tmp_path / "export"
    shutil.copytree(FOLDER, broken)
    (broken / "users.json").write_text('{"users": [{"id": "P1", "name": 7}]')
    ran = await run_cli(["import", "pagerduty", "--from-dir", str(broken), "--plan"], world.env, world.tmp)
    assert ran.code == 1 and "Traceback" not in ran.err
    assert "users.json: not valid JSON" in ran.err
    (broken / "users.json").write_text('{"users": [{"id": "P1", "name": 7}]}')
    ran = await run_cli(["import", "pagerduty", "--from-dir", str(broken), "--plan"], world.env, world.tmp)
    assert "users[0]: 'name' should be a string, got int" in ran.err
    shutil.copy(FOLDER / "users.json", broken / "users.json")
    (broken / "schedules" / "PSCH003.json").unlink()
    ran = await run_cli(["import", "pagerduty", "--from-dir", str(broken), "--plan"], world.env, world.tmp)
    assert ran.code == 1
    assert "schedules/PSCH003.json is missing (the saved PagerDuty response to GET /schedules/PSCH003)" in ran.err
    ran = await run_cli(["import", "pagerduty", "--from-dir", str(tmp_path / "nope"), "--plan"], world.env, world.tmp)
    assert ran.code == 1 and "no such folder" in ran.err
    ran = await run_cli(["import", "pagerduty", "--plan"], world.env, world.tmp)
    assert ran.code == 1 and "give --api-token" in ran.err


def test_compare_uses_pagerdutys_rendered_final_schedule_when_it_covers_the_window() -> None:
    from bot.importers.compare import vendor_shifts
    from bot.importers.model import Export, ImportedPerson, ImportedSchedule
    from bot.oncall.shifts import Origin, Role, Shift

    end = AT + timedelta(weeks=4)
    rendered = [Shift("P1", Role.PRIMARY, AT - timedelta(hours=1), end + timedelta(hours=1), Origin.ROTATION)]
    schedule = ImportedSchedule("S", "s", "UTC", [], rendered=rendered)
    export = Export("PagerDuty", people=[ImportedPerson("P1", "Pat", None, None, slack_id="U0PAT0001")],
                    schedules=[schedule])
    mapped = map_export(export, now=AT, public_url="https://x")
    assert [s.person for s in vendor_shifts(mapped, schedule, AT, end)] == ["U0PAT0001"]
    schedule.rendered = rendered[:0] or [Shift("P1", Role.PRIMARY, AT, AT + timedelta(days=1), Origin.ROTATION)]
    assert vendor_shifts(mapped, schedule, AT, end) == []  # does not cover: computed from the (no) layers
