"""Showing alert storms in Slack: post the storm message, then keep editing it until it is current.

A storm whose message is behind is claimed (:func:`bot.notify.storms.claim_due`) in every
dispatcher pass, independent of which alert groups are being sent, so the message catches up after
the burst is over and after any refusal. A 429 is waited out for exactly its ``Retry-After`` (and
pauses the channel, so its new alerts keep folding); other errors back off and are tried again.
Edits of an open storm are spaced ``EDIT_INTERVAL`` apart: Slack would refuse more, and nobody reads
faster. A crash between posting and recording finds the posted message by its metadata: the next
claim (after the lease, on another replica if this one died) looks before posting. A replica that
stalled past its lease records nothing once another has taken the storm over, and deletes a message
it posted that late, so the channel keeps one storm message.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.models import AlertStorm
from bot.clock import Clock
from bot.metrics import Metrics
from bot.notify import storms
from bot.notify.once import OwnPosts
from bot.notify.pauses import ChannelPauses
from bot.slack.blocks.storm import StormSummary, storm_blocks, storm_metadata, storm_text
from bot.slack.errors import MessageNotFound, RateLimited, SlackError

log = logging.getLogger(__name__)

EDIT_INTERVAL = timedelta(seconds=1)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 60))


class StormPoster:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], own: OwnPosts, clock: Clock,
                 zone: ZoneInfo, metrics: Metrics, pauses: ChannelPauses) -> None:
        """``own`` posts the storm message (a retry looks for it first); ``pauses``: the channels Slack is
        rate limiting, shared with the dispatcher and other replicas."""
        self._sessions = sessions
        self._own = own
        self._slack = own.slack
        self._clock = clock
        self._zone = zone
        self._metrics = metrics
        self._pauses = pauses

    async def sync_due(self) -> int:
        """Bring every due storm message up to date (or give it back until it may be tried)."""
        claims = await storms.claim_due(self._sessions, self._clock.now())
        for claim in claims:
            await self._sync(claim)
        return len(claims)

    async def _sync(self, claim: storms.StormClaim) -> None:
        async with self._sessions() as s:
            storm = await s.get_one(AlertStorm, claim.storm_id)
            version = storm.version  # read before counting: anything counted later is at least this new
            summary = await storms.summary(s, storm)
        now = self._clock.now()
        if paused := await self._pauses.load(storm.channel, now):
            await storms.release(self._sessions, claim, paused, "ratelimited", uncount=True)
            return
        try:
            channel_id, ts, new = await self._show(storm, summary)
        except RateLimited as exc:
            until = now + timedelta(seconds=exc.retry_after or 1)
            await self._pauses.pause(storm.channel, until)
            await storms.release(self._sessions, claim, until, "ratelimited", uncount=True)
            return
        except SlackError as exc:
            log.warning("could not show alert storm %s in Slack: %s", storm.id, exc)
            await storms.release(self._sessions, claim, now + _backoff(storm.sync_attempts), exc.code)
            return
        recorded = await storms.posted(self._sessions, claim, channel_id=channel_id, ts=ts, version=version,
                                       next_edit_at=None if summary.ended_at else self._clock.now() + EDIT_INTERVAL)
        if not recorded:
            log.warning("alert storm %s was taken over by another replica while this one showed it", storm.id)
            if new:  # the replica holding it now shows the storm in its own message, or finds this one
                await self._delete(channel_id, ts)

    async def _show(self, storm: AlertStorm, summary: StormSummary) -> tuple[str, str, bool]:
        """Post or edit the storm message: (channel id, ts, whether it was posted just now)."""
        text, blocks = storm_text(summary), [b.to_dict() for b in storm_blocks(summary, self._zone)]
        if storm.slack_ts and storm.slack_channel_id:
            try:
                await self._slack.chat_update(channel=storm.slack_channel_id, ts=storm.slack_ts, text=text, blocks=blocks)
                return storm.slack_channel_id, storm.slack_ts, False
            except MessageNotFound:
                pass  # someone deleted it: post it again, below
        posted = await self._own.post(storm.slack_channel_id or storm.channel, metadata=storm_metadata(storm.id),
                                      retried=storm.sync_attempts > 1, since=storm.started_at, text=text,
                                      blocks=blocks)
        if posted.found:
            await self._slack.chat_update(channel=posted.channel, ts=posted.ts, text=text, blocks=blocks)
        else:
            self._metrics.notifications.labels("slack", "storm").inc()
        return posted.channel, posted.ts, not posted.found

    async def _delete(self, channel_id: str, ts: str) -> None:
        try:
            await self._slack.chat_delete(channel=channel_id, ts=ts)
        except SlackError as exc:
            log.warning("could not delete a second alert storm message: %s", exc)
