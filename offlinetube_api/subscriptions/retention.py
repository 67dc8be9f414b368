"""Retention: after each check, a subscription that keeps only the newest N of its videos
(`keep_newest`: the N it queued last) or those it queued less than D days ago (`keep_days`)
has the others removed, each as DELETE /api/downloads/{id} removes it (its files, thumbnail and
sidecar go, and a `removed` event says so).

Never removed:
- a video added by hand: a task without the subscription's id is not the subscription's;
- a video not finished yet (waiting or downloading): a later check judges it;
- a video that may be playing: one streamed (GET or HEAD /api/stream/..., plays.py) less than
  its duration plus PLAYING_MARGIN ago. A player asks for range after range while it plays,
  but may have buffered a short video whole at its start, or be paused: the margin covers
  both; a video whose duration is unknown gets the margin alone.

Age counts from when the subscription queued the video, not from its publication: a listing
does not always give the date."""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from offlinetube_api.errors import TaskNotFound
from offlinetube_api.ports import Downloads
from offlinetube_api.subscriptions.model import SubscriptionSpec
from offlinetube_api.subscriptions.ports import QueuedVideo

logger = logging.getLogger(__name__)

PLAYING_MARGIN = timedelta(minutes=30)


def retains_all(spec: SubscriptionSpec) -> bool:
    return spec.keep_newest is None and spec.keep_days is None


def may_be_playing(video: QueuedVideo, now: datetime) -> bool:
    if video.played_at is None:
        return False
    lasts = timedelta(seconds=video.duration or 0) + PLAYING_MARGIN
    return now - video.played_at < lasts


def beyond_retention(
    videos: Sequence[QueuedVideo], spec: SubscriptionSpec, now: datetime
) -> list[str]:
    """The ids of `videos` (the last queued first) to remove under `spec`'s retention."""
    oldest_kept = now - timedelta(days=spec.keep_days) if spec.keep_days is not None else None
    doomed = []
    for place, video in enumerate(videos):
        too_many = spec.keep_newest is not None and place >= spec.keep_newest
        too_old = oldest_kept is not None and video.queued_at < oldest_kept
        if (too_many or too_old) and video.status.is_final and not may_be_playing(video, now):
            doomed.append(video.task_id)
    return doomed


async def remove_beyond_retention(
    videos: Sequence[QueuedVideo], spec: SubscriptionSpec, *, downloads: Downloads, now: datetime
) -> list[str]:
    """Removes what `beyond_retention` names; the ids of those removed (one removed meanwhile
    by another request is not among them)."""
    removed = []
    for task_id in beyond_retention(videos, spec, now):
        try:
            await downloads.remove(task_id)
        except TaskNotFound:
            continue
        removed.append(task_id)
    return removed
