"""Which listed videos a check queues: pure functions of the listing, what the subscription
already knows, and its spec."""

import itertools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from offlinetube_api.subscriptions.listing import ListedVideo
from offlinetube_api.subscriptions.model import SubscriptionSpec


@dataclass(frozen=True, slots=True)
class Selection:
    """`new`: the listed videos the subscription had not seen, newest first as listed;
    `wanted`: those of them to queue (the filters and, on a first check, the back catalogue)."""

    new: tuple[ListedVideo, ...]
    wanted: tuple[ListedVideo, ...]


def newest_first(videos: Sequence[ListedVideo]) -> bool:
    """Whether the listing is known to be ordered newest first: every video has a publication
    time, and none is newer than the one before it."""
    times = [video.published for video in videos]
    known = [at for at in times if at is not None]
    if len(known) < len(times):
        return False
    return all(a >= b for a, b in itertools.pairwise(known))


def unseen(videos: Sequence[ListedVideo], known: Collection[str]) -> list[ListedVideo]:
    """The videos whose key is not in `known`, each once. In a listing ordered newest first,
    the walk stops at the first known video: everything after it is older and was seen."""
    ordered = newest_first(videos)
    fresh: dict[str, ListedVideo] = {}
    for video in videos:
        if video.key in known:
            if ordered:
                break
            continue
        fresh.setdefault(video.key, video)
    return list(fresh.values())


def select(
    videos: Sequence[ListedVideo], known: Collection[str], spec: SubscriptionSpec, *, first: bool
) -> Selection:
    """`first`: the subscription's first good check, where `spec.back_catalogue` applies."""
    new = unseen(videos, known)
    wanted = [video for video in new if passes(video, spec)]
    if first and spec.back_catalogue is not None:
        wanted = wanted[: spec.back_catalogue]
    return Selection(new=tuple(new), wanted=tuple(wanted))


def passes(video: ListedVideo, spec: SubscriptionSpec) -> bool:
    """The filters. A duration or a date the listing does not give passes its filter (the
    listing is cheap and some sources do not tell)."""
    title = video.title or ""
    if spec.title_include and not re.search(spec.title_include, title, re.IGNORECASE):
        return False
    if spec.title_exclude and re.search(spec.title_exclude, title, re.IGNORECASE):
        return False
    if video.duration is not None:
        if spec.min_duration is not None and video.duration < spec.min_duration:
            return False
        if spec.max_duration is not None and video.duration > spec.max_duration:
            return False
    if spec.published_after is not None and video.published is not None:
        after = datetime.combine(spec.published_after, datetime.min.time(), UTC)
        return video.published >= after
    return True
