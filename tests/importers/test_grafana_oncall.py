"""``watchstander import grafana-oncall`` end to end against a local stand-in of the OnCall public
API v1 (``Authorization: <token>`` checked, lists paged with ``next`` links), the same company as
the other vendors: plan, write, check-config, the same primary at 30 instants and hand-checked
ones, compare, and a vendor failure half-way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from bot.importers import grafana_oncall
from bot.importers.fetch import DirFetcher
from tests.importers.standins import (
    FIXTURES,
    GRAFANA_LISTS,
    NOW,
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

TOKEN = "glsa_oncallToken_9f8e7d6c"
FOLDER = FIXTURES / "grafana-oncall"
AT = datetime.fromisoformat(NOW)
ENV_TOKENS = {"WS_TOKEN_ALERTMANAGER": "alertmanager-token-1", "WS_TOKEN_CHECKOUT_WEBHOOK": "checkout-token-22",
              "WS_TOKEN_GRAFANA_ALERTING": "grafana-token-333"}


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    vendor = VendorStandIn(folder=FOLDER, auth=TOKEN, list_keys=GRAFANA_LISTS, paging=Paging("page", size=5),
                           prefix="/api/v1")
    async with world_of(tmp_path, vendor, lambda url: ["grafana-oncall", "--url", url, "--token", TOKEN]) as w:
        yield w


def ok(ran: Ran) -> str:
    return succeeded(ran, TOKEN)


async def test_plan(world: World) -> None:
    out = ok(await run_cli(world.api("--plan"), world.env, world.tmp))
    assert out.startswith("Import from Grafana OnCall: 12 people, 3 teams, 4 schedules, 5 overrides, "
                          "3 escalation policies, 4 integrations")
    assert "Hiro Tanaka: hiro@example.com → U0HIRO001" in out  # not connected in OnCall: found by e-mail
    assert "Liam O'Brien: liam@contractor.example.net → NOT FOUND in Slack" in out
    assert ("schedule: one layer 'Platform weekly': a weekly rotation of 4, handoff mon 09:00 Europe/Berlin, from "
            "2027-03-08 (the turn in force now)") in out
    assert "layer 'Business hours': 2 people, turns of 24h" in out
    assert "escalation level 2 at +15m: person:U0DMITRI1, slack:@payments-oncall" in out
    assert "escalation then the whole policy again, 5 time(s)" in out
    assert "  data: Kavya Rao (U0KAVYA01) 2027-03-27T00:00:00+00:00 → 2027-03-28T11:00:00+00:00" in out
    assert ("Alertmanager → integration alertmanager: POST https://watchstander.example.com/alerts/alertmanager "
            "with Authorization: Bearer $WS_TOKEN_ALERTMANAGER") in out
    for line in ["phone numbers 'everyone': Grafana OnCall's API does not give them",
                 "shift 'Payments: Business hours': daily turns only on MO, TU, WE, TH, FR: turns counted on every day",
                 "schedule 'Legacy ICS': is an iCal URL in Grafana OnCall",
                 "escalation step 'Payments chain at +10m': notify_user_group has no equivalent",
                 "escalation step 'Data chain at +30m': trigger_webhook has no equivalent",
                 "matches a template or regex against the raw payload",
                 "notification rule 'Chloé Dubois': sms without a phone number",
                 "integration 'Direct paging': direct_paging: Watchstander takes no alerts this way"]:
        assert line in out, line
    assert list(world.tmp.iterdir()) == []
    assert world.vendor.requests.count("/api/v1/users/") == 3  # 12 people, 5 a page, by the next links


async def test_from_dir_reads_the_same_export(world: World) -> None:
    api = ok(await run_cli(world.api("--plan"), world.env, world.tmp))
    saved = ok(await run_cli(["import", "grafana-oncall", "--from-dir", str(FOLDER), "--plan", "--now", NOW],
                             world.env, world.tmp))
    assert saved == api


HAND = [
    ("platform", "2027-03-10T12:00:00+00:00", "U0BRUNO01"),  # override
    ("platform", "2027-03-11T08:30:00+00:00", "U0CHLOE01"),  # week 26 % 4 = 2
    ("platform", "2027-03-29T06:30:00+00:00", "U0ALICE01"),  # 08:30 CEST, before the 09:00 handoff
    ("platform", "2027-03-29T07:30:00+00:00", "U0BRUNO01"),
    ("payments", "2027-03-10T12:00:00+00:00", "U0GRACE01"),  # 07:00 EST: weekly, week 26 % 3 = 2
    ("payments", "2027-03-10T15:00:00+00:00", "U0FARID01"),  # 10:00 EST: level-1 business hours, day 190 % 2
    ("payments", "2027-03-15T14:00:00+00:00", "U0GRACE01"),  # override, EDT
    ("payments", "2027-03-17T13:30:00+00:00", "U0GRACE01"),  # 09:30 EDT: business hours moved with the clocks
    ("data", "2027-03-10T12:00:00+00:00", "U0JONAS01"),     # 12-hour turn 380 % 3 = 2
    ("data", "2027-03-13T12:00:00+00:00", "U0JONAS01"),     # level-1 weekend shift, week 27 % 2 = 1
    ("data", "2027-03-27T12:00:00+00:00", "U0KAVYA01"),     # override across the UK change
    ("data", "2027-03-29T07:30:00+00:00", "U0KAVYA01"),     # 12-hour turn 418 % 3 = 1
]


async def test_write_check_config_and_the_same_primary(world: World) -> None:
    target = world.tmp / "watchstander.yaml"
    out = ok(await run_cli(world.api("--write", str(target)), world.env, world.tmp))
    assert "loaded 4 override(s) into the database" in out
    written = yaml.safe_load(target.read_text())
    assert [t["name"] for t in written["teams"]] == ["platform", "payments", "data"]
    assert written["teams"][0]["escalation"] == [{"after": "0m", "notify": ["person:primary"]},
                                                 {"after": "15m", "notify": ["person:U0DMITRI1",
                                                                             "slack:@payments-oncall"]}]
    ok(await run_cli(["check-config", str(target)], {**world.env, **ENV_TOKENS}, world.tmp))

    export = await grafana_oncall.read(DirFetcher(FOLDER, "Grafana OnCall"), AT)
    for p in export.people:
        p.slack_id = p.slack_id or next((u.id for u in SLACK_PEOPLE if u.email == p.email), None)
    await same_primaries(world, export, target, ENV_TOKENS, HAND)
    compared = ok(await run_cli(world.api("--compare"), world.env, world.tmp))
    assert "0 difference(s)" in compared


async def test_vendor_error_half_way(world: World) -> None:
    world.vendor.faults["/api/v1/escalation_chains/"] = 500
    ran = await run_cli(world.api("--write", str(world.tmp / "watchstander.yaml")), world.env, world.tmp)
    assert ran.code == 1 and "Traceback" not in ran.err
    assert "import failed: Grafana OnCall answered HTTP 500 on /api/v1/escalation_chains/; nothing was written" \
        in ran.err
    assert list(world.tmp.iterdir()) == []


async def test_wrong_token_and_missing_url(world: World) -> None:
    args = world.api("--plan")
    args[args.index(TOKEN)] = "not-the-token"
    ran = await run_cli(args, world.env, world.tmp)
    assert ran.code == 1
    assert "Grafana OnCall refused the credentials (HTTP 401 on /api/v1/personal_notification_rules/)" in ran.err
    ran = await run_cli(["import", "grafana-oncall", "--token", TOKEN, "--plan"], world.env, world.tmp)
    assert ran.code == 1 and "give --url URL" in ran.err
