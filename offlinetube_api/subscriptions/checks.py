"""A check: claim a due subscription in the store, list its source, queue a task for each new
video that passes its filters, and record what happened. A failing source backs off (see
model.next_check) and says why; it never stops the checks of other subscriptions.

Nothing is doubled by a check that dies half-way (its process or host lost): its claim runs
out and the check runs again; the videos it queued are known to the subscription or, if it
died before recording them, found as duplicates by the task store (same video, same options)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from offlinetube_api.errors import QueueFull
from offlinetube_api.models import DownloadOrder, checked_download_url
from offlinetube_api.ports import Downloads
from offlinetube_api.subscriptions.listing import (
    ListedVideo,
    Listing,
    ListingFailed,
    ListingJob,
    list_source,
)
from offlinetube_api.subscriptions.model import CheckRecord, Subscription, next_check
from offlinetube_api.subscriptions.ports import SeenVideo, SubscriptionStore
from offlinetube_api.subscriptions.retention import remove_beyond_retention, retains_all
from offlinetube_api.subscriptions.selection import PatternTooSlow, select
from offlinetube_api.webhook_outbox import claimer_name

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Lists a source within a timeout in seconds (listing.list_source; tests give stand-ins).
Lister = Callable[[ListingJob, float], Awaitable[Listing]]


async def _list_in_a_process(job: ListingJob, timeout_s: float) -> Listing:
    return await list_source(job, timeout_s=timeout_s)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SubscriptionChecker:
    def __init__(
        self,
        *,
        subscriptions: SubscriptionStore,
        downloads: Downloads,
        job_for: Callable[[str], ListingJob],
        listing_timeout_s: float,
        clock: Clock = utc_now,
        lister: Lister = _list_in_a_process,
        claimer: str | None = None,
    ) -> None:
        """`job_for(url)`: the listing job of a source. `clock`, `lister` and `claimer` (who
        holds a claim, as the store shows it): tests inject them."""
        self._subscriptions = subscriptions
        self._downloads = downloads
        self._job_for = job_for
        self._timeout_s = listing_timeout_s
        self._clock = clock
        self._lister = lister
        self._claimer = claimer or claimer_name()
        # A claim outlives the longest check: the listing's timeout, then the queueing.
        self.lease = timedelta(seconds=listing_timeout_s + 60)

    async def run_due(self, subscription_id: str | None = None) -> list[Subscription]:
        """Checks every due subscription this process can claim (or only the one named),
        one after another; returns them as their checks left them."""
        checked = []
        while claimed := await self._claim(subscription_id):
            checked.append(await self._check(claimed))
            if subscription_id is not None:
                break
        return [subscription for subscription in checked if subscription is not None]

    async def _claim(self, subscription_id: str | None) -> Subscription | None:
        now = self._clock()
        return await self._subscriptions.claim(
            subscription_id, now=now, lease=self.lease, claimer=self._claimer
        )

    async def _check(self, subscription: Subscription) -> Subscription | None:
        started = self._clock()
        failures = 0
        try:
            record = await self._list_and_queue(subscription, started)
        except (ListingFailed, PatternTooSlow) as failed:
            record = CheckRecord(checked_at=started, error=str(failed))
            failures = subscription.failures + 1
            logger.warning(
                "subscription %s (%s): check failed (%d in a row): %s",
                subscription.id,
                subscription.spec.url,
                failures,
                record.error,
            )
        record = replace(record, removed=tuple(await self._retain(subscription)))
        due = next_check(subscription.spec, after=self._clock(), failures=failures)
        return await self._subscriptions.finish(
            subscription.id,
            claimer=self._claimer,
            record=record,
            failures=failures,
            next_check_at=due,
        )

    async def _retain(self, subscription: Subscription) -> list[str]:
        """After the check, failed or not: what its retention removed (retention.py)."""
        spec = subscription.spec
        if retains_all(spec):
            return []
        videos = await self._subscriptions.queued_videos(subscription.id)
        now = self._clock()
        return await remove_beyond_retention(videos, spec, downloads=self._downloads, now=now)

    async def _list_and_queue(self, subscription: Subscription, started: datetime) -> CheckRecord:
        listing = await self._lister(self._job_for(subscription.spec.url), self._timeout_s)
        known = await self._subscriptions.seen(subscription.id)
        first = not known and subscription.checks == 0
        # In a thread: a slow title pattern takes up to PATTERNS_BUDGET_S, which the event
        # loop must not wait through (regex releases the GIL while it matches).
        selection = await asyncio.to_thread(
            select, listing.videos, known, subscription.spec, first=first
        )
        queued, seen, error = await self._queue(subscription, selection.wanted)
        wanted = {video.key for video in selection.wanted}
        seen += [SeenVideo(video.key, None) for video in selection.new if video.key not in wanted]
        await self._subscriptions.remember(subscription.id, seen)
        return CheckRecord(
            checked_at=started,
            listed=len(listing.videos),
            new=len(selection.new),
            task_ids=tuple(queued),
            error=error,
        )

    async def _queue(
        self, subscription: Subscription, videos: tuple[ListedVideo, ...]
    ) -> tuple[list[str], list[SeenVideo], str | None]:
        """Oldest first, so the library shows them in the order they were published. A full
        queue stops here: what is left is not recorded, so the next check queues it."""
        queued: list[str] = []
        seen: list[SeenVideo] = []
        for video in reversed(videos):
            try:
                checked_download_url(video.url)
            except ValueError:
                seen.append(SeenVideo(video.key, None))  # not an address a download starts from
                continue
            try:
                submission = await self._downloads.submit(_order(subscription, video))
            except QueueFull as full:
                return queued, seen, f"{full.detail}; the rest waits for the next check"
            seen.append(SeenVideo(video.key, submission.task.id))
            if submission.queued:
                queued.append(submission.task.id)
        return queued, seen, None


def _order(subscription: Subscription, video: ListedVideo) -> DownloadOrder:
    spec = subscription.spec
    return DownloadOrder(
        url=video.url,
        format=spec.format,
        audio_format=spec.audio_format,
        subtitle_langs=spec.subtitle_langs,
        subscription_id=subscription.id,
        extractor=video.extractor,
        video_id=video.video_id,
    )
