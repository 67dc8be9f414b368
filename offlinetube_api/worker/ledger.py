"""TaskLedger: the one way a task changes. Each change is a typed transition that the store
saves together with its event (every reader of events, on any replica, learns of it from the
store); a final one is also handed to the webhook notifier of this process. The changes an
operator follows are logged here, once saved (task_log.py); a cancel by the service that asked
for it, and a retry after a failure by the recorder that knows its delay."""

import uuid
from dataclasses import asdict

from offlinetube_api import task_log
from offlinetube_api.errors import TaskNotFound
from offlinetube_api.metrics.downloads import DownloadMetrics
from offlinetube_api.models import DownloadOrder, ErrorKind, Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.transitions import (
    Completed,
    Failed,
    PlaylistPlace,
    Requeued,
    RequeueReason,
    Started,
    Transition,
    Waiting,
    now,
)
from offlinetube_api.webhooks import WebhookNotifier


class TaskLedger:
    """`metrics`: where the runs of this process are counted (none in tests that do not look)."""

    def __init__(
        self,
        *,
        store: TaskStore,
        notifier: WebhookNotifier | None,
        metrics: DownloadMetrics | None = None,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._metrics = metrics

    async def get(self, task_id: str) -> Task:
        """Raises TaskNotFound (a 404)."""
        task = await self._store.get(task_id)
        if task is None:
            raise TaskNotFound(task_id)
        return task

    async def add(self, task: Task, *, max_queued: int | None = None) -> None:
        """Raises QueueFull (see TaskStore.add)."""
        await self._store.add(task, max_queued=max_queued)
        task_log.queued(task)

    async def add_unless_same(self, task: Task, *, max_queued: int) -> Task | None:
        """None once `task` is added; else the task of the same download that exists. Raises
        QueueFull (see TaskStore.add_unless_same)."""
        same = await self._store.add_unless_same(task, max_queued=max_queued)
        if same is None:
            task_log.queued(task)
        return same

    async def apply(
        self, task_id: str, transition: Transition, *, attempt: int | None = None
    ) -> Task | None:
        """The task after `transition`, or None if it is gone. Raises TransitionRefused (see
        TaskStore.apply)."""
        task = await self._store.apply(task_id, transition, attempt=attempt)
        if task is not None:
            _log(task, transition, by_a_run=attempt is not None)
            if self._metrics:
                self._metrics.saved(task, transition, by_a_run=attempt is not None)
            if self._notifier and task.status.is_final:
                self._notifier.notify(task)
        return task

    async def remove(self, task_id: str) -> bool:
        """False if the task was already gone."""
        task = await self._store.get(task_id)
        if not await self._store.remove(task_id):
            return False
        if task is not None:
            task_log.removed(task)
        return True


def _log(task: Task, transition: Transition, *, by_a_run: bool) -> None:
    """The task as `transition` left it. A file found missing or back (not `by_a_run`) is not
    a download's event: existing.py logs how many at once. A task requeued as interrupted is
    logged where that is found out (recovery.py, distributed_core.py)."""
    if isinstance(transition, Started):
        task_log.started(task, transition.attempt)
    elif isinstance(transition, Completed) and by_a_run:
        task_log.completed(task)
    elif isinstance(transition, Failed) and transition.kind is not ErrorKind.FILE_MISSING:
        task_log.failed(task)
    elif isinstance(transition, Requeued) and transition.reason in _SAID_HERE:
        task_log.queued_again(task, transition.reason)
    elif isinstance(transition, Waiting):
        task_log.held_back(task)


_SAID_HERE = frozenset({RequeueReason.RETRIED, RequeueReason.FILE_MISSING, RequeueReason.SHUTDOWN})


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
        cookies=order.cookies,
        subscription_id=order.subscription_id,
        extractor=order.extractor,
        video_id=order.video_id,
        **(asdict(place) if place else {}),
    )
