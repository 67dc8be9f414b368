"""Task change events: an in-process publish/subscribe of what the download manager saves,
with a bounded history so a client that reconnects with `Last-Event-ID` gets what it missed.

Event ids are consecutive integers that start at the boot time in microseconds, so they keep
increasing across restarts and an id from an earlier run is recognised as one (it is older
than anything this run published) and answered with a snapshot of the current state.
"""

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from sse_starlette import JSONServerSentEvent

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.store import TaskStore

logger = logging.getLogger(__name__)

HISTORY_SIZE = 10_000
SUBSCRIBER_QUEUE_SIZE = 1_000

EventName = Literal["task", "removed"]


@dataclass(frozen=True, slots=True)
class TaskEvent:
    id: int
    name: EventName
    task_id: str
    data: dict[str, Any]
    final: bool  # nothing follows for this task: it reached a final state or was removed

    def to_sse(self, *, with_id: bool = True) -> JSONServerSentEvent:
        return JSONServerSentEvent(self.data, event=self.name, id=str(self.id) if with_id else None)


def _task_event(event_id: int, task: Task, present: Callable[[Task], TaskPublic]) -> TaskEvent:
    data = present(task).model_dump(mode="json")
    return TaskEvent(event_id, "task", task.id, data, final=task.status.is_final)


class Subscriber:
    """One client's queue of live events. When the client reads too slowly the queue fills
    up; the subscriber is then dropped and its stream closed, and the client comes back with
    `Last-Event-ID` to get the rest from the history."""

    def __init__(self, task_id: str | None, queue_size: int) -> None:
        self.task_id = task_id
        self.queue: asyncio.Queue[TaskEvent | None] = asyncio.Queue(maxsize=queue_size)
        self.closed = False

    def wants(self, event: TaskEvent) -> bool:
        return self.task_id is None or self.task_id == event.task_id

    def close(self) -> None:
        """Ends the stream: after what is already queued, or at once when the queue is full."""
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)  # wakes a stream that waits for an event

    async def next(self) -> TaskEvent | None:
        """The next live event, or None once the stream must end."""
        return None if self.closed and self.queue.full() else await self.queue.get()


@dataclass(frozen=True, slots=True)
class Opening:
    """What a new subscriber is sent before live events: missed events or a snapshot, all of
    them up to `watermark`; `done` when a task stream has nothing left to wait for."""

    subscriber: Subscriber
    backlog: list[JSONServerSentEvent]
    watermark: int
    done: bool


class TaskEvents:
    """Used from the event loop only: publishing never awaits, so it never waits for a client."""

    def __init__(
        self,
        *,
        present: Callable[[Task], TaskPublic] = TaskPublic.from_task,
        history_size: int = HISTORY_SIZE,
        queue_size: int = SUBSCRIBER_QUEUE_SIZE,
    ) -> None:
        self._present = present  # signs media URLs when keys are required
        self._first_id = time.time_ns() // 1000
        self._ids = itertools.count(self._first_id)
        self._last_id = self._first_id - 1
        self._history: deque[TaskEvent] = deque(maxlen=history_size)
        # The newest event of each task that is still in the history, removals included.
        self._latest: dict[str, TaskEvent] = {}
        self._subscribers: set[Subscriber] = set()
        self._queue_size = queue_size

    # -- publishing -------------------------------------------------------------------------

    def publish(self, task: Task) -> None:
        """Called on the event loop right after a change of `task` was saved."""
        self._append(_task_event(next(self._ids), task, self._present))

    def publish_removed(self, task_id: str) -> None:
        """Called on the event loop right after a task and its files were removed."""
        self._append(TaskEvent(next(self._ids), "removed", task_id, {"id": task_id}, final=True))

    def _append(self, event: TaskEvent) -> None:
        if len(self._history) == self._history.maxlen:
            dropped = self._history[0]
            if self._latest.get(dropped.task_id) is dropped:
                del self._latest[dropped.task_id]  # the store now knows at least as much
        self._history.append(event)
        self._latest[event.task_id] = event
        self._last_id = event.id
        for subscriber in list(self._subscribers):
            if subscriber.wants(event) and not subscriber.closed:
                self._offer(subscriber, event)

    def _offer(self, subscriber: Subscriber, event: TaskEvent) -> None:
        try:
            subscriber.queue.put_nowait(event)
        except asyncio.QueueFull:
            logger.info("an event stream fell %d events behind; closing it", self._queue_size)
            self._subscribers.discard(subscriber)
            subscriber.close()

    # -- resuming ---------------------------------------------------------------------------

    def _missed(self, last_event_id: int | None, task_id: str | None) -> list[TaskEvent] | None:
        """The events after `last_event_id`, or None when they are not all in the history
        (no id, an id older than the history or from another run, or a future id)."""
        if last_event_id is None:
            return None
        oldest = self._history[0].id if self._history else self._last_id + 1
        if not max(self._first_id, oldest - 1) <= last_event_id <= self._last_id:
            return None
        # Ids are consecutive, so the first missed event sits at a known offset from the end.
        behind = self._last_id - last_event_id
        missed = itertools.islice(self._history, len(self._history) - behind, None)
        return [event for event in missed if task_id is None or event.task_id == task_id]

    def needs_snapshot(self, last_event_id: int | None) -> bool:
        return self._missed(last_event_id, None) is None

    def nothing_left(self, task: Task, last_event_id: int | None) -> bool:
        """True when a client resuming this task's stream has seen everything there will be."""
        missed = self._missed(last_event_id, task.id)
        latest = self._latest.get(task.id)
        final = latest.final if latest else task.status.is_final
        return missed == [] and final

    # -- subscribing ------------------------------------------------------------------------

    def _snapshot(self, stored: list[Task], task_id: str | None) -> list[TaskEvent]:
        """The state as of the last published event: what the store said, overridden by
        anything published meanwhile (newer, or removed)."""
        events = {task.id: _task_event(self._last_id, task, self._present) for task in stored}
        newer = self._latest.values() if task_id is None else [self._latest.get(task_id)]
        for event in newer:
            if event is not None:
                events[event.task_id] = event
        if task_id is None:  # the all-tasks snapshot lists what exists
            events = {key: event for key, event in events.items() if event.name == "task"}
        return list(events.values())

    def _subscribe(
        self, task_id: str | None, last_event_id: int | None, stored: list[Task]
    ) -> Opening:
        """Registers a subscriber and says what it must be sent first. Nothing awaits in
        here, so every event is either in that backlog or, newer, in the subscriber's queue."""
        subscriber = Subscriber(task_id, self._queue_size)
        self._subscribers.add(subscriber)
        latest = self._latest.get(task_id) if task_id else None
        done = task_id is not None and (latest.final if latest else stored[0].status.is_final)
        missed = self._missed(last_event_id, task_id)
        if missed is not None:
            backlog = [event.to_sse() for event in missed]
            return Opening(subscriber, backlog, self._last_id, done)
        snapshot = self._snapshot(stored, task_id)
        if task_id is not None:  # the task's latest event: resuming from it misses nothing
            return Opening(subscriber, [snapshot[0].to_sse()], self._last_id, done)
        # Only the last one carries an id, the newest of all: a client cut off halfway through
        # gets a snapshot again.
        backlog = [event.to_sse(with_id=False) for event in snapshot]
        if backlog:
            backlog[-1].id = str(self._last_id)
        return Opening(subscriber, backlog, self._last_id, done)

    async def _stream(
        self,
        task_id: str | None,
        last_event_id: int | None,
        stored: list[Task],
        shutdown: anyio.Event,
    ) -> AsyncIterator[JSONServerSentEvent]:
        opening = self._subscribe(task_id, last_event_id, stored)
        subscriber, sent = opening.subscriber, opening.watermark
        closer = asyncio.create_task(_close_on(shutdown, subscriber))
        try:
            for message in opening.backlog:
                yield message
            if opening.done:
                return
            while event := await subscriber.next():
                if event.id <= sent:
                    continue
                yield event.to_sse()
                sent = event.id
                if task_id is not None and event.final:
                    return
        finally:
            closer.cancel()
            self._subscribers.discard(subscriber)

    # -- what the routes use ----------------------------------------------------------------

    def task_stream(
        self, task: Task, last_event_id: int | None, shutdown: anyio.Event
    ) -> AsyncIterator[JSONServerSentEvent]:
        """One task's changes: its state first (unless nothing was missed), then each change,
        ending after a final state or a removal, or when `shutdown` is set."""
        return self._stream(task.id, last_event_id, [task], shutdown)

    async def all_tasks_stream(
        self, store: TaskStore, last_event_id: int | None, shutdown: anyio.Event
    ) -> AsyncIterator[JSONServerSentEvent]:
        """Every task's changes until `shutdown` is set; a snapshot of every task first when
        the client has missed more than the history holds."""
        stored: list[Task] = []
        if self.needs_snapshot(last_event_id):
            stored = await store.with_status(list(TaskStatus))
        async for message in self._stream(None, last_event_id, stored, shutdown):
            yield message


async def _close_on(shutdown: anyio.Event, subscriber: Subscriber) -> None:
    await shutdown.wait()
    subscriber.close()
