"""The subscription domain: what a client chooses (SubscriptionSpec), what a check found
(CheckRecord), and the subscription as the store keeps it. No I/O."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import regex

from offlinetube_api.models import AudioFormat

MIN_INTERVAL = timedelta(minutes=15)
# A year: a longer one is a typo, and one past year 9999 cannot be scheduled at all.
MAX_INTERVAL = timedelta(days=365)
DEFAULT_INTERVAL = timedelta(hours=6)
# A failing source waits interval * 2**failures before its next check, at most this long.
MAX_BACK_OFF = timedelta(days=7)


class SubscriptionEventName(StrEnum):
    """What happened to a subscription, as its event (and webhook) is named: made, changed by
    a client (paused and resumed too), deleted, or checked (its `last_check` says how)."""

    CREATED = "subscription.created"
    UPDATED = "subscription.updated"
    DELETED = "subscription.deleted"
    CHECKED = "subscription.checked"


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What a client chooses. `title_include` / `title_exclude`: Python regular expressions,
    searched anywhere in the title, ignoring case. Durations in seconds. `back_catalogue`:
    what the first check queues of the videos already there: None all of them, 0 none, N the
    newest N. Retention, after each check: `keep_newest` keeps the N videos it queued last,
    `keep_days` those it queued less than D days ago; None keeps every one (see retention.py).
    """

    url: str
    name: str
    interval: timedelta = DEFAULT_INTERVAL
    format: str | None = None
    audio_format: AudioFormat | None = None
    subtitle_langs: tuple[str, ...] = ()
    title_include: str | None = None
    title_exclude: str | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    published_after: date | None = None
    back_catalogue: int | None = None
    keep_newest: int | None = None
    keep_days: int | None = None


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One check: how many videos the source listed, how many were new to the subscription,
    the tasks queued for them, why it failed (None when it did not), and the tasks its
    retention removed."""

    checked_at: datetime
    listed: int = 0
    new: int = 0
    task_ids: tuple[str, ...] = ()
    error: str | None = None
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Subscription:
    """`failures`: checks failed in a row (0 after a good one). `checks`: checks made."""

    id: str
    spec: SubscriptionSpec
    created_at: datetime
    next_check_at: datetime
    paused: bool = False
    failures: int = 0
    checks: int = 0
    last_check: CheckRecord | None = None


def next_check(spec: SubscriptionSpec, *, after: datetime, failures: int) -> datetime:
    """When to check again: one interval after a good check; after a failure, a delay that
    doubles with each failure in a row, capped at MAX_BACK_OFF (or the interval if longer)."""
    if failures == 0:
        return after + spec.interval
    ceiling = max(MAX_BACK_OFF, spec.interval)
    # 2**20 intervals of 15 minutes already pass any ceiling; a larger power would overflow
    # timedelta for a source that has failed for months.
    delay: timedelta = min(spec.interval * 2 ** min(failures, 20), ceiling)
    return after + delay


def bad_pattern(pattern: str) -> str | None:
    """Why `pattern` is not a regular expression of the `regex` module (Python's syntax, which
    selection.py matches titles with), in words; None when it is one."""
    try:
        regex.compile(pattern)
    except regex.error as exc:
        return str(exc)
    return None
