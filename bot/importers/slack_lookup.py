"""Finding each imported person's Slack user by e-mail (``users.lookupByEmail``), with the bot's
own ``SLACK_BOT_TOKEN`` and ``SLACK_API_URL``. Needs the ``users:read.email`` scope."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.importers.fetch import parse
from bot.importers.jsonread import ImportFailed, obj
from bot.importers.model import Export, Unmapped

# slack_sdk's name for the method (users.lookupByEmail); the manifest test finds the scopes the
# code needs by these names.
METHOD = "users_lookupByEmail"


async def find_slack_ids(session: aiohttp.ClientSession, export: Export, *, token: str | None, api_url: str) -> None:
    """Fill ``slack_id`` for everyone with an e-mail Slack knows; the rest stay ``None``."""
    if all(p.slack_id for p in export.people):
        return  # the vendor knew them all (Grafana OnCall connected to Slack)
    if not token:
        export.unmapped.append(Unmapped("people", "everyone", "SLACK_BOT_TOKEN is not set, so nobody could be "
                                        "looked up in Slack by e-mail"))
        return
    url = api_url.rstrip("/") + "/" + METHOD.replace("_", ".", 1)
    for person in export.people:
        if person.email and person.slack_id is None:
            person.slack_id = await _lookup(session, url, token, person.email)


async def _lookup(session: aiohttp.ClientSession, url: str, token: str, email: str) -> str | None:
    for _ in range(3):
        try:
            async with session.post(url, data={"email": email}, headers={"Authorization": f"Bearer {token}"}) as r:
                body, status, wait = await r.read(), r.status, r.headers.get("Retry-After", "1")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ImportFailed(f"cannot reach Slack at {url}: {exc.__class__.__name__}") from None
        if status == 429:
            await asyncio.sleep(min(5.0, float(wait) if wait.isdigit() else 1.0))
            continue
        answer = parse(body, "Slack users.lookupByEmail")
        if answer.get("ok") is True:
            user = obj(answer.get("user"), "Slack users.lookupByEmail user")
            found = user.get("id")
            return found if isinstance(found, str) else None
        error = answer.get("error")
        if error == "users_not_found":
            return None
        if error in ("invalid_auth", "not_authed", "missing_scope", "account_inactive"):
            raise ImportFailed(f"Slack refused users.lookupByEmail ({error}); the bot token needs the "
                               "users:read.email scope")
        raise ImportFailed(f"Slack users.lookupByEmail failed: {error}")
    raise ImportFailed("Slack kept rate-limiting users.lookupByEmail; run the import again in a minute")
