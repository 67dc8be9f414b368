"""The webhook outbox on both databases: a final state and its notification are saved together;
a notifier fed from the outbox delivers each once, and what a dead process held is sent again.
The service's own HTTP tests are in test_webhooks.py."""

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from offlinetube_api.models import ErrorKind, Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.store import PostgresTaskStore
from offlinetube_api.transitions import Cancelled, Completed, Failed, ProgressMade, Started
from offlinetube_api.webhook_outbox import WebhookOutbox, webhook_outbox
from offlinetube_api.webhooks import WebhookNotifier
from tests.fixtures.stores import StoreFactory
from tests.fixtures.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    started = WebhookReceiver().start()
    yield started
    started.stop()


def queued_task() -> Task:
    return Task(
        id=str(uuid.uuid4()),
        url="https://example.com/v",
        format=None,
        status=TaskStatus.QUEUED,
        created_at=datetime.now(UTC),
    )


async def finish(store: TaskStore, transition: Any = None) -> Task:
    """A new task taken to a final state (completed unless `transition` says otherwise)."""
    task = queued_task()
    await store.add(task)
    await store.apply(task.id, Started(attempt=1))
    await store.apply(task.id, ProgressMade(10, 100, 1.0, 9))
    final = transition or Completed(
        filename=f"v__{task.id}.mp4", ext="mp4", filesize=100, thumbnail_file=None
    )
    done = await store.apply(task.id, final)
    assert done is not None and done.status.is_final
    return done


async def wait_for(condition: Callable[[], bool], deadline_s: float = 20.0) -> None:
    give_up = asyncio.get_running_loop().time() + deadline_s
    while not condition():
        assert asyncio.get_running_loop().time() < give_up, "timed out"
        await asyncio.sleep(0.02)


def sent_tasks(receiver: WebhookReceiver) -> list[tuple[str, str]]:
    return [
        (json.loads(call.body)["task"]["id"], call.headers["x-offlinetube-event"])
        for call in receiver.calls
    ]


def test_each_final_state_is_written_with_it_and_nothing_else_is(
    task_store: StoreFactory,
) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            outbox = webhook_outbox(store)
            completed = await finish(store)
            failed = await finish(store, Failed(error="HTTP Error 404", kind=ErrorKind.NOT_FOUND))
            cancelled = queued_task()
            await store.add(cancelled)
            await store.apply(cancelled.id, Cancelled())
            unfinished = queued_task()
            await store.add(unfinished)
            await store.apply(unfinished.id, Started(attempt=1))
            # A finished task as `rebuild` restores it: saved as `imported`, owed to nobody.
            await store.add(replace(completed, id=str(uuid.uuid4())))

            entries = await outbox.claim(10)

            assert [(e.task.id, e.task.status) for e in entries] == [
                (completed.id, TaskStatus.COMPLETED),
                (failed.id, TaskStatus.FAILED),
                (cancelled.id, TaskStatus.CANCELLED),
            ]
            assert entries[0].task == completed
            assert len({entry.delivery_id for entry in entries}) == 3
            assert await outbox.claim(10) == [], "claimed entries are not handed out twice"

    asyncio.run(scenario())


def test_a_notifier_fed_from_the_outbox_delivers_and_empties_it(
    task_store: StoreFactory, receiver: WebhookReceiver
) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            outbox = webhook_outbox(store)
            notifier = WebhookNotifier(receiver.url, "k", poll_interval_s=0.05, fed_by_outbox=True)
            notifier.start(outbox)
            tasks = [await finish(store) for _ in range(3)]
            for task in tasks:
                notifier.notify(task)
            await wait_for(lambda: len(receiver.calls) == 3 and notifier.pending == 0)
            await notifier.close(timeout=5)
            assert await outbox.claim(10) == [], "delivered entries are gone"
            assert sorted(sent_tasks(receiver)) == sorted(
                (task.id, "task.completed") for task in tasks
            )

    asyncio.run(scenario())


def test_what_a_dead_process_held_is_sent_by_the_next(
    task_store: StoreFactory, receiver: WebhookReceiver
) -> None:
    """A process claims a notification and dies before it is sent. SQLite: the next start
    frees it at once (one service per data folder). PostgreSQL: its lease runs out."""

    async def scenario() -> None:
        async with task_store.opened() as store:
            lease = timedelta(seconds=1)
            dead: WebhookOutbox = webhook_outbox(store, lease=lease)
            task = await finish(store)
            [held] = await dead.claim(10)  # ... and never settles it

            notifier = WebhookNotifier(receiver.url, None, poll_interval_s=0.05, fed_by_outbox=True)
            notifier.start(webhook_outbox(store, lease=lease))
            await wait_for(lambda: len(receiver.calls) == 1 and notifier.pending == 0)
            await notifier.close(timeout=5)

            [call] = receiver.calls
            assert call.headers["x-offlinetube-delivery"] == held.delivery_id
            assert json.loads(call.body)["task"]["id"] == task.id

    asyncio.run(scenario())


def test_replicas_deliver_each_notification_once(
    postgres_url: str, receiver: WebhookReceiver
) -> None:
    async def scenario() -> None:
        replicas = [PostgresTaskStore(postgres_url) for _ in range(3)]
        for store in replicas:
            await store.open()
        notifiers = [
            WebhookNotifier(receiver.url, None, poll_interval_s=0.02, fed_by_outbox=True)
            for _ in replicas
        ]
        try:
            for notifier, store in zip(notifiers, replicas, strict=True):
                notifier.start(webhook_outbox(store))
            finished = await asyncio.gather(*(finish(replicas[n % 3]) for n in range(30)))
            await wait_for(lambda: len(receiver.calls) >= 30)
            await wait_for(lambda: all(notifier.pending == 0 for notifier in notifiers))
        finally:
            for notifier in notifiers:
                await notifier.close(timeout=5)
            for store in replicas:
                await store.close()
        deliveries = Counter(call.headers["x-offlinetube-delivery"] for call in receiver.calls)
        assert len(deliveries) == 30 and set(deliveries.values()) == {1}
        assert sorted(task_id for task_id, _ in sent_tasks(receiver)) == sorted(
            task.id for task in finished
        )

    asyncio.run(scenario())


def test_what_a_service_without_a_url_leaves_is_dropped_once_old(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            outbox = webhook_outbox(store)
            await finish(store)
            assert await outbox.discard_unsent(timedelta(minutes=10)) == 0
            await asyncio.sleep(0.05)
            assert await outbox.discard_unsent(timedelta(seconds=0)) == 1
            assert await outbox.claim(10) == []

    asyncio.run(scenario())
