"""TaskLedger: the one way a task's state changes. A change is saved to the store first, then
published to whoever listens (event streams, webhooks)."""

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from offlinetube_api.errors import TaskNotFound
from offlinetube_api.events import TaskEvents
from offlinetube_api.models import DownloadOrder, ErrorKind, Task, TaskStatus
from offlinetube_api.store import TaskStore
from offlinetube_api.webhooks import WebhookNotifier


class TaskLedger:
    def __init__(
        self, *, store: TaskStore, events: TaskEvents, notifier: WebhookNotifier | None
    ) -> None:
        self._store = store
        self._events = events
        self._notifier = notifier

    async def get(self, task_id: str) -> Task:
        task = await self._store.get(task_id)
        if task is None:
            raise TaskNotFound(task_id)
        return task

    async def add(self, task: Task) -> None:
        await self._store.add(task)
        self._events.publish(task)

    async def save(self, task_id: str, **changes: Any) -> Task | None:
        """Stored before anyone can see it; None if the task is gone."""
        task = await self._store.update(task_id, **changes)
        if task is not None:
            self._events.publish(task)
            if self._notifier and "status" in changes and task.status.is_final:
                self._notifier.notify(task)
        return task

    async def delete(self, task_id: str) -> bool:
        """False if the task was already gone: then nothing is published."""
        deleted = await self._store.delete(task_id)
        if deleted:
            self._events.publish_removed(task_id)
        return deleted


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PlaylistPlace:
    """Where a task sits in the playlist that `source_url`, as posted, expanded into."""

    playlist_id: str
    playlist_index: int
    source_url: str
    page_item: int | None


def new_task(order: DownloadOrder, *, place: PlaylistPlace | None = None) -> Task:
    return Task(
        id=str(uuid.uuid4()),
        url=order.url,
        format=order.format,
        status=TaskStatus.QUEUED,
        created_at=now(),
        title=order.title,
        audio_format=order.audio_format,
        subtitle_langs=order.subtitle_langs,
        **(asdict(place) if place else {}),
    )


def fresh_attempt(status: TaskStatus, *, started_at: datetime | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "progress": 0.0,
        "downloaded_bytes": None,
        "total_bytes": None,
        "speed": None,
        "eta": None,
        "error": None,
        "error_kind": None,
        "started_at": started_at,
        "finished_at": None,
    }


def cancelled() -> dict[str, Any]:
    return {
        "status": TaskStatus.CANCELLED,
        "speed": None,
        "eta": None,
        "error": "Cancelled",
        "error_kind": ErrorKind.CANCELLED,
        "finished_at": now(),
    }


def percent(done: int | None, total: int | None) -> float:
    if not done or not total:
        return 0.0
    return round(min(100.0, 100.0 * done / total), 1)
