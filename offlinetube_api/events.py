"""EventFeed: every saved task event, fanned out to this replica's open event streams (and
every subscription event, to those that ask for them).

Events are durable: the store saves each one with the change it describes, with ids that
increase in commit order across restarts and replicas (ports.StoredEvent). One reader per
replica follows the store, woken by the EventBus (in-process in embedded mode, LISTEN/NOTIFY
in distributed mode, with a poll every `POLL_S` seconds as the fallback), and hands each new
event to the subscribers that want it. A client that reconnects, to this replica or another,
with `Last-Event-ID` gets exactly what it missed, read back from the store.

Opening a stream costs work in proportion to the unfinished tasks at most, never to the whole
library: the all-tasks snapshot lists the unfinished ones (a client reads the rest from the
paginated listing).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass

import anyio

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import EventBus, StoredEvent, TaskStore
from offlinetube_api.transitions import TransitionName, now

logger = logging.getLogger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1_000
# At most this many missed events are replayed; a client further behind gets a snapshot.
MAX_REPLAY = 10_000
# How long the reader waits for a wake-up before it looks at the store anyway.
POLL_S = 1.0
_READ_BATCH = 1_000

UNFINISHED = tuple(status for status in TaskStatus if not status.is_final)


class Subscriber:
    """One client's queue of live events. When the client reads too slowly the queue fills
    up; the subscriber is then dropped and its stream closed, and the client comes back with
    `Last-Event-ID` to get the rest from the store."""

    def __init__(self, task_id: str | None, queue_size: int, *, subscriptions: bool) -> None:
        self.task_id = task_id
        self.subscriptions = subscriptions
        self.queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue(maxsize=queue_size)
        self.closed = False

    def wants(self, event: StoredEvent) -> bool:
        """One task's events, or every task's; subscriptions' events only when asked for (a
        subscription's id is never a task's)."""
        if event.subscription is not None:
            return self.subscriptions
        return self.task_id is None or self.task_id == event.task_id

    def close(self) -> None:
        """Ends the stream: after what is already queued, or at once when the queue is full."""
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)  # wakes a stream that waits for an event

    async def next(self) -> StoredEvent | None:
        """The next live event, or None once the stream must end."""
        return None if self.closed and self.queue.full() else await self.queue.get()


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event as a stream sends it. In a snapshot only the last event carries its id (the
    watermark), so a client cut off halfway through gets a snapshot again."""

    event: StoredEvent
    with_id: bool = True


@dataclass(frozen=True, slots=True)
class Opening:
    """What a new subscriber is sent before live events: missed events or a snapshot, all of
    them up to `watermark`; `done` when a task stream has nothing left to wait for."""

    subscriber: Subscriber
    backlog: Sequence[Delivery]
    watermark: int
    done: bool


def _replay(events: list[StoredEvent]) -> list[Delivery]:
    return [Delivery(event) for event in events]


def _snapshot(tasks: list[Task], watermark: int) -> list[Delivery]:
    events = [snapshot_event(task, watermark) for task in tasks]
    return [Delivery(event, with_id=n == len(events) - 1) for n, event in enumerate(events)]


def snapshot_event(task: Task, event_id: int) -> StoredEvent:
    """A task's current state, as an event carrying `event_id` (the watermark)."""
    return StoredEvent(event_id, task.id, TransitionName.PROGRESS, task, now())


class EventFeed:
    def __init__(
        self, *, store: TaskStore, bus: EventBus, queue_size: int = SUBSCRIBER_QUEUE_SIZE
    ) -> None:
        self._store = store
        self._bus = bus
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._delivered = 0  # the newest event id handed to subscribers
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        _, self._delivered = await self._store.event_bounds()
        self._reader = asyncio.create_task(self._read(), name="event-feed")

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    # -- following the store ----------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            seen = self._bus.announcements  # before reading: a later one wakes the next wait
            try:
                await self._deliver_new()
            except Exception:  # a failing database must not end the feed; it is retried
                logger.warning("the event feed could not read new events", exc_info=True)
            await self._bus.wait(POLL_S, seen=seen)

    async def _deliver_new(self) -> None:
        while True:
            events = await self._store.events_after(self._delivered, limit=_READ_BATCH)
            for event in events:
                self._deliver(event)
            if len(events) < _READ_BATCH:
                return

    def _deliver(self, event: StoredEvent) -> None:
        self._delivered = event.id
        for subscriber in list(self._subscribers):
            if subscriber.wants(event) and not subscriber.closed:
                self._offer(subscriber, event)

    def _offer(self, subscriber: Subscriber, event: StoredEvent) -> None:
        try:
            subscriber.queue.put_nowait(event)
        except asyncio.QueueFull:
            logger.info("an event stream fell %d events behind; closing it", self._queue_size)
            self._subscribers.discard(subscriber)
            subscriber.close()

    # -- resuming ---------------------------------------------------------------------------

    async def _missed(
        self, last_event_id: int | None, task_id: str | None
    ) -> list[StoredEvent] | None:
        """The events after `last_event_id`, or None when they are not all kept (no id, an id
        older than what is kept, a future id, or more than MAX_REPLAY of them)."""
        if last_event_id is None:
            return None
        oldest, newest = await self._store.event_bounds()
        if not oldest - 1 <= last_event_id <= newest or newest - last_event_id > MAX_REPLAY:
            return None
        return await self._store.events_after(last_event_id, task_id=task_id, limit=MAX_REPLAY)

    async def nothing_left(self, task: Task, last_event_id: int | None) -> bool:
        """True when a client resuming this task's stream has seen everything there will be."""
        return task.status.is_final and await self._missed(last_event_id, task.id) == []

    # -- subscribing ------------------------------------------------------------------------

    def _register(self, task_id: str | None, *, subscriptions: bool = False) -> Subscriber:
        """From here on, every event the subscriber wants is queued for it."""
        subscriber = Subscriber(task_id, self._queue_size, subscriptions=subscriptions)
        self._subscribers.add(subscriber)
        return subscriber

    async def _task_opening(self, task: Task, last_event_id: int | None) -> Opening:
        """Registers a subscriber to one task, then reads what it must be sent first: what it
        missed, or the task as it is now. Events saved meanwhile arrive in its queue as well
        and are skipped there by id."""
        subscriber = self._register(task.id)
        try:
            missed = await self._missed(last_event_id, task.id)
            if missed is not None:
                watermark = missed[-1].id if missed else last_event_id or 0
                done = (bool(missed) and missed[-1].final) or (task.status.is_final and not missed)
                return Opening(subscriber, _replay(missed), watermark, done)
            _, watermark = await self._store.event_bounds()
            current = await self._store.get(task.id)
            if current is None:  # removed meanwhile: its removal event is in the queue
                return Opening(subscriber, [], 0, False)
            done = current.status.is_final
            return Opening(subscriber, _snapshot([current], watermark), watermark, done)
        except BaseException:
            self._subscribers.discard(subscriber)
            raise

    async def _all_tasks_opening(self, last_event_id: int | None, subscriptions: bool) -> Opening:
        """Registers a subscriber to every task (and subscription, with `subscriptions`) first,
        then reads what it must be sent before the events queued meanwhile: the events it
        missed, or the unfinished tasks."""
        subscriber = self._register(None, subscriptions=subscriptions)
        try:
            missed = await self._missed(last_event_id, None)
            if missed is not None:
                watermark = missed[-1].id if missed else last_event_id or 0
                wanted = [event for event in missed if subscriber.wants(event)]
                return Opening(subscriber, _replay(wanted), watermark, False)
            # Read the watermark first: the tasks read after it reflect at least every event
            # up to it, and any later event follows in the queue.
            _, watermark = await self._store.event_bounds()
            unfinished = await self._store.with_status(UNFINISHED)
        except BaseException:
            self._subscribers.discard(subscriber)
            raise
        return Opening(subscriber, _snapshot(unfinished, watermark), watermark, False)

    async def _follow(
        self, opening: Opening, task_id: str | None, shutdown: anyio.Event
    ) -> AsyncGenerator[Delivery, None]:
        subscriber, sent = opening.subscriber, opening.watermark
        closer = asyncio.create_task(_close_on(shutdown, subscriber))
        try:
            for delivery in opening.backlog:
                yield delivery
            if opening.done:
                return
            while event := await subscriber.next():
                if event.id <= sent:
                    continue
                yield Delivery(event)
                sent = event.id
                if task_id is not None and event.final:
                    return
        finally:
            closer.cancel()
            self._subscribers.discard(subscriber)

    # -- what the routes use ----------------------------------------------------------------

    async def task_stream(
        self, task: Task, last_event_id: int | None, shutdown: anyio.Event
    ) -> AsyncIterator[Delivery]:
        """One task's changes: its state first (unless nothing was missed), then each change,
        ending after a final state or a removal, or when `shutdown` is set."""
        opening = await self._task_opening(task, last_event_id)
        async with contextlib.aclosing(self._follow(opening, task.id, shutdown)) as events:
            async for delivery in events:
                yield delivery

    async def all_tasks_stream(
        self, last_event_id: int | None, shutdown: anyio.Event, *, subscriptions: bool = False
    ) -> AsyncIterator[Delivery]:
        """Every task's changes until `shutdown` is set, and every subscription's with
        `subscriptions`. A client that missed more than is kept (a new one too) first gets
        the unfinished tasks, as they are now (subscriptions are read from their listing)."""
        opening = await self._all_tasks_opening(last_event_id, subscriptions)
        async with contextlib.aclosing(self._follow(opening, None, shutdown)) as events:
            async for delivery in events:
                yield delivery


async def _close_on(shutdown: anyio.Event, subscriber: Subscriber) -> None:
    await shutdown.wait()
    subscriber.close()
