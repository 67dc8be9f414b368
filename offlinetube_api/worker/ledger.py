"""TaskLedger: the one way a task changes. Each change is a typed transition that the store
saves together with its event (every reader of events, on any replica, learns of it from the
store); a final one is also handed to the webhook notifier of this process."""

import uuid
from dataclasses import asdict

from offlinetube_api.errors import TaskNotFound
from offlinetube_api.models import DownloadOrder, Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.transitions import PlaylistPlace, Transition, now
from offlinetube_api.webhooks import WebhookNotifier


class TaskLedger:
    def __init__(self, *, store: TaskStore, notifier: WebhookNotifier | None) -> None:
        self._store = store
        self._notifier = notifier

    async def get(self, task_id: str) -> Task:
        """Raises TaskNotFound (a 404)."""
        task = await self._store.get(task_id)
        if task is None:
            raise TaskNotFound(task_id)
        return task

    async def add(self, task: Task) -> None:
        await self._store.add(task)

    async def add_unless_same(self, task: Task, *, max_queued: int) -> Task | None:
        """None once `task` is added; else the task of the same download that exists. Raises
        QueueFull (see TaskStore.add_unless_same)."""
        return await self._store.add_unless_same(task, max_queued=max_queued)

    async def apply(
        self, task_id: str, transition: Transition, *, attempt: int | None = None
    ) -> Task | None:
        """The task after `transition`, or None if it is gone. Raises TransitionRefused (see
        TaskStore.apply)."""
        task = await self._store.apply(task_id, transition, attempt=attempt)
        if task is not None and self._notifier and task.status.is_final:
            self._notifier.notify(task)
        return task

    async def remove(self, task_id: str) -> bool:
        """False if the task was already gone."""
        return await self._store.remove(task_id)


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
