"""Where alerts come in: the vendor's integrations as Watchstander integrations (each with a new
token, as a ``${NAME}`` reference, and the URL its sender must now post to), and its routing
rules as ``routes:``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.importers.model import Export, Unmapped
from bot.importers.names import slug, unique

if TYPE_CHECKING:
    from bot.importers.mapping import Mapped, YamlDict


def integrations(export: Export, out: Mapped, public_url: str) -> list[YamlDict]:
    taken: set[str] = set()
    items: list[YamlDict] = []
    for i in export.integrations:
        label = f"{i.service}: {i.name}" if i.service else i.name
        if i.watchstander_type is None:
            out.unmapped.append(Unmapped("integration", label, f"{i.kind}: Watchstander takes no alerts this way"))
            continue
        name = unique(slug(i.service or i.name, 30), taken)
        variable = "WS_TOKEN_" + name.upper().replace("-", "_")
        entry: YamlDict = {"name": name, "type": i.watchstander_type, "token": "${" + variable + "}"}
        team = out.team_of_policy.get(i.policy_id or "") or out.team_of_vendor_team.get(i.team_id or "")
        if team:
            entry["team"] = team
        items.append(entry)
        out.env[variable] = f"the webhook token of integration {name} (a new random secret, e.g. openssl rand -hex 24)"
        base = public_url.rstrip("/")
        where = (f"POST {base}/v2/enqueue with routing_key = ${variable}" if i.watchstander_type == "pagerduty"
                 else f"POST {base}/alerts/{i.watchstander_type} with Authorization: Bearer ${variable}")
        out.integrations.append((label, name, where))
    return items


def routes(export: Export, out: Mapped) -> list[YamlDict]:
    items: list[YamlDict] = []
    for r in export.routes:
        team = (out.team_of_policy.get(r.policy_id or "") or out.team_of_schedule.get(r.schedule_id or ""))
        if team is None:
            out.unmapped.append(Unmapped("routing rule", r.name, "sends to an escalation or schedule no Watchstander "
                                         "team is built from"))
            continue
        items.append({"match": dict(r.match), "team": team})
        out.routes.append((r.name, team, ", ".join(f"{k}={v}" for k, v in r.match.items())))
    return items
