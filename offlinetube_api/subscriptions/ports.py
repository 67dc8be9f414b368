"""The seam of the subscriptions' store, as a Protocol speaking the domain's types; SQLite and
PostgreSQL implement it on the task store's own database (sqlite_store.py, postgres_store.py).
Raises StoreUnavailable like the task store."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from offlinetube_api.models import TaskStatus
from offlinetube_api.subscriptions.model import CheckRecord, Subscription, SubscriptionSpec


@dataclass(frozen=True, slots=True)
class SeenVideo:
    """A video a check saw: its key (listing.ListedVideo.key) and the task queued for it, or
    None when a filter or the back catalogue kept it out."""

    key: str
    task_id: str | None


@dataclass(frozen=True, slots=True)
class QueuedVideo:
    """A task a subscription's check queued, as retention judges it: when it was queued, how
    long its video lasts (seconds, None when unknown) and when it was last streamed."""

    task_id: str
    status: TaskStatus
    queued_at: datetime
    duration: float | None
    played_at: datetime | None


class SubscriptionStore(Protocol):
    async def add(self, subscription: Subscription) -> None: ...

    async def get(self, subscription_id: str) -> Subscription | None: ...

    async def all(self) -> list[Subscription]:
        """Oldest first."""
        ...

    async def change(
        self,
        subscription_id: str,
        *,
        spec: SubscriptionSpec,
        paused: bool,
        next_check_at: datetime,
    ) -> Subscription | None:
        """Saves a client's change; None when the subscription is gone."""
        ...

    async def remove(self, subscription_id: str) -> bool:
        """Deletes it and what it saw (its tasks stay); False when it was gone."""
        ...

    async def make_due(self, subscription_id: str, at: datetime) -> Subscription | None:
        """Its next check is due at `at` (check now); None when it is gone."""
        ...

    async def claim(
        self, subscription_id: str | None, *, now: datetime, lease: timedelta, claimer: str
    ) -> Subscription | None:
        """Takes one due check for `claimer` until `now + lease`: the subscription's (any
        subscription's, the longest due, when None) if it is not paused, its check is due
        and no live claim holds it. None when there is none to take. One claimer wins, in
        any process."""
        ...

    async def finish(
        self,
        subscription_id: str,
        *,
        claimer: str,
        record: CheckRecord,
        failures: int,
        next_check_at: datetime,
    ) -> Subscription | None:
        """Saves a check's record and the next due time, and ends the claim; None (nothing
        saved) when `claimer` no longer holds it or the subscription is gone."""
        ...

    async def release_claims(self) -> None:
        """At an embedded start: the claims of the process before (one process per data
        folder) end, so its interrupted checks run again at once."""
        ...

    async def seen(self, subscription_id: str) -> set[str]:
        """The keys of every video its checks saw."""
        ...

    async def remember(self, subscription_id: str, videos: Iterable[SeenVideo]) -> None:
        """Records what a check saw (a key seen before keeps its first record)."""
        ...

    async def task_ids(self, subscription_id: str) -> list[str]:
        """The ids of the tasks its checks queued that still exist."""
        ...

    async def queued_videos(self, subscription_id: str) -> list[QueuedVideo]:
        """The tasks its checks queued that still exist, the last queued first."""
        ...
