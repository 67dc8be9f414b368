"""Which listed videos a check queues: pure functions of the listing, what the subscription
already knows, and its spec.

Title patterns are a client's regular expressions, and a pattern such as `^(a|a)*$` takes time
exponential in a title's length with a backtracking engine: Python's `re` would hold the
process for hours on one title of forty letters. They run on the `regex` module instead (the
same syntax, and far fewer such cases), whose matching takes a timeout: PATTERNS_BUDGET_S for
a whole listing."""

import itertools
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import regex

from offlinetube_api.subscriptions.listing import ListedVideo
from offlinetube_api.subscriptions.model import SubscriptionSpec

# Seconds that every title match of one check may take in all: thousands of titles with two
# ordinary patterns take milliseconds.
PATTERNS_BUDGET_S = 2.0


class PatternTooSlow(Exception):
    """The title patterns took longer than PATTERNS_BUDGET_S on one listing; `str()` says
    which pattern and what to do, for the check's `last_error`."""


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
    videos: Sequence[ListedVideo],
    known: Collection[str],
    spec: SubscriptionSpec,
    *,
    first: bool,
    budget_s: float = PATTERNS_BUDGET_S,
) -> Selection:
    """`first`: the subscription's first good check, where `spec.back_catalogue` applies.
    Raises PatternTooSlow when the title patterns take over `budget_s` seconds in all."""
    new = unseen(videos, known)
    deadline = time.monotonic() + budget_s
    wanted = [video for video in new if passes(video, spec, deadline)]
    if first and spec.back_catalogue is not None:
        wanted = wanted[: spec.back_catalogue]
    return Selection(new=tuple(new), wanted=tuple(wanted))


def passes(video: ListedVideo, spec: SubscriptionSpec, deadline: float) -> bool:
    """The filters. A duration or a date the listing does not give passes its filter (the
    listing is cheap and some sources do not tell). `deadline`: time.monotonic()'s reading by
    which the title patterns must be done; raises PatternTooSlow past it."""
    title = video.title or ""
    if spec.title_include and not _found("title_include", spec.title_include, title, deadline):
        return False
    if spec.title_exclude and _found("title_exclude", spec.title_exclude, title, deadline):
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


def _found(field: str, pattern: str, title: str, deadline: float) -> bool:
    """Whether `pattern` is found anywhere in `title`, any case."""
    left = deadline - time.monotonic()
    try:
        if left <= 0:
            raise TimeoutError
        return regex.search(pattern, title, regex.IGNORECASE, timeout=left) is not None
    except TimeoutError:
        raise PatternTooSlow(
            f"{field} took over {PATTERNS_BUDGET_S:g} s on this listing's titles (at "
            f"{title[:80]!r}): a repeat of alternatives that match the same text, such as "
            "(a|a)*, takes time exponential in a title's length; simplify it"
        ) from None
