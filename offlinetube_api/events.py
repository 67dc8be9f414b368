"""Task change events: an in-process publish/subscribe of what the download manager saves,
with a bounded history so a client that reconnects with `Last-Event-ID` gets what it missed.

Event ids are consecutive integers that start at the boot time in microseconds, so they keep
increasing across restarts and an id from an earlier run is recognised as one (it is older
than anything this run published) and answered with a snapshot of the current state.

Opening a stream costs work in proportion to the unfinished tasks at most, never to the whole
library: the all-tasks snapshot lists the unfinished ones (a client reads the rest from the
paginated listing), read and serialized off the event loop; each event is serialized once,
whatever the number of streams.
"""

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from sse_starlette import ServerSentEvent

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.store import TaskStore

logger = logging.getLogger(__name__)

HISTORY_SIZE = 10_000
SUBSCRIBER_QUEUE_SIZE = 1_000

UNFINISHED = tuple(status for status in TaskStatus if not status.is_final)

EventName = Literal["task", "removed"]


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class TaskEvent:
    id: int
    name: EventName
    task_id: str
    text: str  # the data as JSON, made once for every stream that sends it
    final: bool  # nothing follows for this task: it reached a final state or was removed

    def to_sse(self, *, with_id: bool = True) -> ServerSentEvent:
        return ServerSentEvent(self.text, event=self.name, id=str(self.id) if with_id else None)


def _task_event(event_id: int, task: Task, present: Callable[[Task], TaskPublic]) -> TaskEvent:
    text = _json(present(task).model_dump(mode="json"))
    return TaskEvent(event_id, "task", task.id, text, final=task.status.is_final)


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
    backlog: Iterable[ServerSentEvent]
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
        removed = TaskEvent(next(self._ids), "removed", task_id, _json({"id": task_id}), True)
        self._append(removed)

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

    def nothing_left(self, task: Task, last_event_id: int | None) -> bool:
        """True when a client resuming this task's stream has seen everything there will be."""
        missed = self._missed(last_event_id, task.id)
        latest = self._latest.get(task.id)
        final = latest.final if latest else task.status.is_final
        return missed == [] and final

    # -- subscribing ------------------------------------------------------------------------

    def _register(self, task_id: str | None) -> Subscriber:
        """From here on, every event the subscriber wants is queued for it."""
        subscriber = Subscriber(task_id, self._queue_size)
        self._subscribers.add(subscriber)
        return subscriber

    def _task_opening(self, task: Task, last_event_id: int | None) -> Opening:
        """Registers a subscriber to one task and says what it must be sent first. Nothing
        awaits in here, so every event is either in that backlog or, newer, in its queue."""
        subscriber = self._register(task.id)
        latest = self._latest.get(task.id)
        done = latest.final if latest else task.status.is_final
        missed = self._missed(last_event_id, task.id)
        if missed is not None:
            return Opening(subscriber, (event.to_sse() for event in missed), self._last_id, done)
        # The task's latest event (or its stored state, as of now): resuming from it misses
        # nothing.
        current = latest or _task_event(self._last_id, task, self._present)
        return Opening(subscriber, [current.to_sse()], self._last_id, done)

    async def _all_tasks_opening(self, store: TaskStore, last_event_id: int | None) -> Opening:
        """Registers a subscriber to every task first, then reads what it must be sent before
        the events queued meanwhile: the events it missed, or the unfinished tasks."""
        subscriber = self._register(None)
        watermark = self._last_id
        missed = self._missed(last_event_id, None)
        if missed is not None:
            return Opening(subscriber, (event.to_sse() for event in missed), watermark, False)
        try:
            # The store has saved every change published up to the watermark (a change is
            # saved before it is published), so this reads at least that state; whatever is
            # published from now on follows in the queue.
            unfinished = await store.with_status(UNFINISHED)
            snapshot = (
                await asyncio.to_thread(self._snapshot, unfinished, watermark) if unfinished else []
            )
        except BaseException:
            self._subscribers.discard(subscriber)
            raise
        return Opening(subscriber, snapshot, watermark, False)

    def _snapshot(self, tasks: list[Task], watermark: int) -> list[ServerSentEvent]:
        """The tasks as events, in a worker thread. Only the last carries an id, the
        watermark: a client cut off halfway through gets a snapshot again."""
        snapshot = [
            _task_event(watermark, task, self._present).to_sse(with_id=False) for task in tasks
        ]
        if snapshot:
            snapshot[-1].id = str(watermark)
        return snapshot

    async def _follow(
        self, opening: Opening, task_id: str | None, shutdown: anyio.Event
    ) -> AsyncGenerator[ServerSentEvent, None]:
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

    async def task_stream(
        self, task: Task, last_event_id: int | None, shutdown: anyio.Event
    ) -> AsyncIterator[ServerSentEvent]:
        """One task's changes: its state first (unless nothing was missed), then each change,
        ending after a final state or a removal, or when `shutdown` is set."""
        opening = self._task_opening(task, last_event_id)
        async with contextlib.aclosing(self._follow(opening, task.id, shutdown)) as messages:
            async for message in messages:
                yield message

    async def all_tasks_stream(
        self, store: TaskStore, last_event_id: int | None, shutdown: anyio.Event
    ) -> AsyncIterator[ServerSentEvent]:
        """Every task's changes until `shutdown` is set. A client that missed more than the
        history holds (a new one too) first gets the unfinished tasks, as they are now."""
        opening = await self._all_tasks_opening(store, last_event_id)
        async with contextlib.aclosing(self._follow(opening, None, shutdown)) as messages:
            async for message in messages:
                yield message


async def _close_on(shutdown: anyio.Event, subscriber: Subscriber) -> None:
    await shutdown.wait()
    subscriber.close()
