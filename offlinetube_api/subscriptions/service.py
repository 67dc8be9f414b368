"""SubscriptionService: what the API asks of subscriptions, the same in both modes."""

import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any

from offlinetube_api.errors import SubscriptionNotFound, SubscriptionPaused, TaskNotFound
from offlinetube_api.ports import Downloads
from offlinetube_api.subscriptions.checks import Clock, utc_now
from offlinetube_api.subscriptions.model import Subscription, SubscriptionSpec
from offlinetube_api.subscriptions.ports import SubscriptionStore
from offlinetube_api.subscriptions.schedule import Schedule

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Removal:
    subscription_id: str
    removed_tasks: int


class SubscriptionService:
    def __init__(
        self,
        *,
        store: SubscriptionStore,
        downloads: Downloads,
        schedule: Schedule,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._downloads = downloads
        self._schedule = schedule
        self._clock = clock

    async def create(self, spec: SubscriptionSpec) -> Subscription:
        """A new subscription, its first check due at once."""
        now = self._clock()
        subscription = Subscription(
            id=str(uuid.uuid4()), spec=spec, created_at=now, next_check_at=now
        )
        await self._store.add(subscription)
        await self._schedule.check_soon(subscription.id)
        return subscription

    async def get(self, subscription_id: str) -> Subscription:
        """Raises SubscriptionNotFound."""
        found = await self._store.get(subscription_id)
        if found is None:
            raise SubscriptionNotFound(subscription_id)
        return found

    async def all(self) -> list[Subscription]:
        return await self._store.all()

    async def change(
        self, subscription_id: str, *, spec_changes: dict[str, Any], paused: bool | None
    ) -> Subscription:
        """Changes the named fields of the spec, and pauses or resumes. A new interval counts
        from the last check. Raises SubscriptionNotFound."""
        current = await self.get(subscription_id)
        spec = replace(current.spec, **spec_changes)
        due = current.next_check_at
        if spec.interval != current.spec.interval:
            since = current.last_check.checked_at if current.last_check else self._clock()
            due = since + spec.interval
        keep_paused = current.paused if paused is None else paused
        changed = await self._store.change(
            subscription_id, spec=spec, paused=keep_paused, next_check_at=due
        )
        if changed is None:
            raise SubscriptionNotFound(subscription_id)
        if not changed.paused and changed.next_check_at <= self._clock():
            await self._schedule.check_soon(subscription_id)  # resumed and overdue
        return changed

    async def check_now(self, subscription_id: str) -> Subscription:
        """Its check is due now and runs soon. Raises SubscriptionNotFound, or
        SubscriptionPaused (a 409)."""
        if (await self.get(subscription_id)).paused:
            raise SubscriptionPaused(subscription_id)
        due = await self._store.make_due(subscription_id, self._clock())
        if due is None:
            raise SubscriptionNotFound(subscription_id)
        await self._schedule.check_soon(subscription_id)
        return due

    async def remove(self, subscription_id: str, *, delete_files: bool) -> Removal:
        """Deletes the subscription; with `delete_files`, its tasks too, with their files
        (as DELETE /api/downloads/{id}/remove does). Raises SubscriptionNotFound."""
        if not await self._store.remove(subscription_id):
            raise SubscriptionNotFound(subscription_id)
        removed = 0
        if delete_files:
            for task_id in await self._store.task_ids(subscription_id):
                try:
                    await self._downloads.remove(task_id)
                except TaskNotFound:
                    continue  # removed meanwhile by another request
                removed += 1
        return Removal(subscription_id=subscription_id, removed_tasks=removed)
