"""``watchstander import opsgenie`` end to end against a local stand-in of Opsgenie's API v2
(``Authorization: GenieKey …`` checked, lists paged by offset and followed by ``paging.next``),
the same company as the PagerDuty tests: plan, write, check-config, the same primary at 30
instants and at hand-checked ones, and a vendor failure half-way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from bot.importers import opsgenie
from bot.importers.fetch import DirFetcher
from tests.importers.standins import (
    FIXTURES,
    NOW,
    OPSGENIE_LISTS,
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

KEY = "eb243592-faa2-4ba2-a551q-1afdf565c889"
FOLDER = FIXTURES / "opsgenie"
AT = datetime.fromisoformat(NOW)
ENV_TOKENS = {"WS_TOKEN_PROMETHEUS": "prometheus-token-1", "WS_TOKEN_CHECKOUT_API": "checkout-api-token-2",
              "WS_TOKEN_GRAFANA_DATA": "grafana-data-token-3"}


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    vendor = VendorStandIn(folder=FOLDER, auth=f"GenieKey {KEY}", list_keys=OPSGENIE_LISTS,
                           paging=Paging("opsgenie", size=5), prefix="/v2")
    async with world_of(tmp_path, vendor, lambda url: ["opsgenie", "--api-key", KEY, "--api-url", url]) as w:
        yield w


def ok(ran: Ran) -> str:
    return succeeded(ran, KEY)


async def test_plan(world: World) -> None:
    out = ok(await run_cli(world.api("--plan"), world.env, world.tmp))
    assert out.startswith("Import from Opsgenie: 12 people, 3 teams, 4 schedules, 5 overrides, "
                          "3 escalation policies, 4 integrations")
    assert ("  Alice Berger: alice@example.com → U0ALICE01; Europe/Berlin; phone +•••••••••••01; notify slack +0m "
            "(mobile app → Slack DM), sms +2m, call +5m") in out
    assert "Ines Moreau: ines@example.com → U0INES001; Europe/London; notify slack +0m (mobile app → Slack DM), " \
           "email +2m" in out
    assert ("schedule: one layer 'Weekly': a weekly rotation of 4, handoff mon 09:00 Europe/Berlin, from "
            "2027-03-08 (the turn in force now)") in out
    assert "Off hours: fri 17:00 for 64h" in out
    assert "layer 'Follow the sun': 3 people, turns of 12h" in out
    assert "escalation level 2 at +15m: person:U0DMITRI1, slack:@payments-oncall" in out  # a user and a team
    assert "escalation level 2 at +10m: person:U0EMMA001" in out
    assert "'Checkout alerts' → route service=checkout → team payments" in out
    assert "'Airflow' → route dag_id=~etl_.* → team data" in out
    assert ("Prometheus → integration prometheus: POST https://watchstander.example.com/alerts/alertmanager with "
            "Authorization: Bearer $WS_TOKEN_PROMETHEUS") in out
    assert "Overrides to load into the database (4, current and future)" in out
    for line in ["escalation rule 'Payments_escalation: Payments_schedule': notifies the 'next' of it",
                 "routing rule 'Drop test alerts': notifies nobody; use a silence in Watchstander",
                 "routing rule 'Airflow': conditions without a route equivalent (only positive extra-properties "
                 "conditions carry over): tags contains 'airflow'",
                 "policy step 'Data_escalation level 2': fires unless the alert is closed",
                 "integration 'Platform Email': Email: Watchstander takes no alerts this way",
                 "schedule 'Platform_shadow': no escalation policy pages it",
                 "policy target \"Payments_escalation level 2: Liam O'Brien\": this person has no Slack user"]:
        assert line in out, line
    assert "15112345601" not in out
    assert list(world.tmp.iterdir()) == []
    assert world.vendor.requests.count("/v2/users") == 3  # 12 people, 5 a page, by paging.next


async def test_from_dir_reads_the_same_export(world: World) -> None:
    api = ok(await run_cli(world.api("--plan"), world.env, world.tmp))
    saved = ok(await run_cli(["import", "opsgenie", "--from-dir", str(FOLDER), "--plan", "--now", NOW],
                             world.env, world.tmp))
    assert saved == api


HAND = [
    ("platform", "2027-03-10T12:00:00+00:00", "U0BRUNO01"),  # override
    ("platform", "2027-03-15T08:30:00+00:00", "U0DMITRI1"),  # week 27 % 4 = 3
    ("platform", "2027-03-29T06:30:00+00:00", "U0ALICE01"),  # 08:30 CEST, before the 09:00 handoff
    ("platform", "2027-03-29T07:30:00+00:00", "U0BRUNO01"),
    ("payments", "2027-03-10T12:00:00+00:00", "U0GRACE01"),  # 07:00 EST: off hours, week 26 % 3 = 2
    ("payments", "2027-03-10T15:00:00+00:00", "U0FARID01"),  # 10:00 EST: business hours, day 190 % 2 = 0
    ("payments", "2027-03-17T12:30:00+00:00", "U0EMMA001"),  # 08:30 EDT: off hours, week 27
    ("payments", "2027-03-17T13:30:00+00:00", "U0GRACE01"),  # 09:30 EDT: business hours, day 197
    ("payments", "2027-03-20T15:00:00+00:00", "U0FARID01"),  # Saturday: off hours, week 28
    ("data", "2027-03-10T12:00:00+00:00", "U0JONAS01"),     # 12-hour turn 380 % 3 = 2
    ("data", "2027-03-13T12:00:00+00:00", "U0JONAS01"),     # weekend rotation, week 27 % 2 = 1
    ("data", "2027-03-28T12:00:00+00:00", "U0JONAS01"),     # Sunday after the UK change, the override over
    ("data", "2027-03-29T07:30:00+00:00", "U0KAVYA01"),     # 12-hour turn 418 % 3 = 1
]


async def test_write_check_config_and_the_same_primary(world: World) -> None:
    target = world.tmp / "watchstander.yaml"
    out = ok(await run_cli(world.api("--write", str(target)), world.env, world.tmp))
    assert "loaded 4 override(s) into the database" in out
    written = yaml.safe_load(target.read_text())
    assert [t["name"] for t in written["teams"]] == ["platform", "payments", "data"]
    assert written["routes"] == [{"match": {"service": "checkout"}, "team": "payments"},
                                 {"match": {"dag_id": "~etl_.*"}, "team": "data"}]
    assert written["integrations"][0] == {"name": "prometheus", "type": "alertmanager",
                                          "token": "${WS_TOKEN_PROMETHEUS}", "team": "platform"}
    ok(await run_cli(["check-config", str(target)], {**world.env, **ENV_TOKENS}, world.tmp))

    export = await opsgenie.read(DirFetcher(FOLDER, "Opsgenie"), AT)
    for p in export.people:
        p.slack_id = next((u.id for u in SLACK_PEOPLE if u.email and p.email and u.email.lower() == p.email), None)
    await same_primaries(world, export, target, ENV_TOKENS, HAND)

    compared = ok(await run_cli(world.api("--compare"), world.env, world.tmp))
    assert "0 difference(s)" in compared


async def test_vendor_error_half_way(world: World) -> None:
    world.vendor.faults["/v2/escalations"] = 503
    ran = await run_cli(world.api("--write", str(world.tmp / "watchstander.yaml")), world.env, world.tmp)
    assert ran.code == 1 and "Traceback" not in ran.err
    assert "import failed: Opsgenie answered HTTP 503 on /v2/escalations; nothing was written" in ran.err
    assert list(world.tmp.iterdir()) == []


async def test_wrong_key(world: World) -> None:
    args = world.api("--plan")
    args[args.index(KEY)] = "not-the-key"
    ran = await run_cli(args, world.env, world.tmp)
    assert ran.code == 1
    assert "Opsgenie refused the credentials (HTTP 401 on /v2/users)" in ran.err
