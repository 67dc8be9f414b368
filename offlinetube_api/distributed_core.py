"""The core of a process in distributed mode: PostgreSQL, LISTEN/NOTIFY and procrastinate.
Imported only when `OFFLINETUBE_DATABASE_URL` is set, so embedded mode never loads psycopg or
procrastinate."""

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from offlinetube_api import media
from offlinetube_api.config import Settings
from offlinetube_api.cookie_sets import cookie_sets
from offlinetube_api.core import Core
from offlinetube_api.download_service import DownloadService
from offlinetube_api.events import EventFeed
from offlinetube_api.metrics.downloads import DownloadMetrics
from offlinetube_api.postgres_event_bus import PostgresEventBus
from offlinetube_api.programs import Programs
from offlinetube_api.queue.procrastinate_queue import ProcrastinateQueue
from offlinetube_api.queue.worker import ProcrastinateWorker
from offlinetube_api.store.postgres import PostgresTaskStore
from offlinetube_api.subscriptions.assembly import subscription_checker
from offlinetube_api.subscriptions.postgres_store import PostgresSubscriptionStore
from offlinetube_api.subscriptions.procrastinate_schedule import (
    SUBSCRIPTION_SLOTS,
    SUBSCRIPTIONS_QUEUE,
    ProcrastinateSchedule,
    register_checks,
)
from offlinetube_api.subscriptions.service import SubscriptionService
from offlinetube_api.transitions import Cancelled, Requeued, RequeueReason
from offlinetube_api.webhooks import WebhookNotifier
from offlinetube_api.worker.ledger import TaskLedger
from offlinetube_api.worker.recovery import sweep_partial_files
from offlinetube_api.worker.runner import build_runner

logger = logging.getLogger(__name__)
# procrastinate logs every job it starts and ends at INFO, periodic upkeep included (every few
# seconds): at the service's INFO that would drown what matters. Shown at DEBUG only.
_CHATTY_LOGGERS = ("procrastinate",)


def _quiet_queue_logs() -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        for name in _CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


class LostRuns:
    """What becomes of a task whose run was lost (its worker died, or did not stop in time):
    queued again, or cancelled when a cancel had been asked of the lost run. Raises
    TransitionRefused when the task is no longer running."""

    def __init__(self, *, ledger: TaskLedger, settings: Settings) -> None:
        self._ledger = ledger
        self._settings = settings

    async def __call__(self, task_id: str, *, cancel_requested: bool) -> None:
        if not cancel_requested:
            await self._ledger.apply(task_id, Requeued(RequeueReason.INTERRUPTED))
            logger.warning("task %s lost its worker; it is queued again", task_id)
            return
        await asyncio.to_thread(
            media.remove_task_files,
            self._settings.downloads_dir,
            self._settings.thumbnails_dir,
            task_id,
        )
        await self._ledger.apply(task_id, Cancelled())


async def _stop_when_worker_ends(worker: ProcrastinateWorker) -> None:
    """A procrastinate worker stops by itself when it loses the database for longer than its
    heartbeat allows; its jobs then run elsewhere, and this process has no download slot left.
    Rather than go on answering HTTP without downloading, it stops the way SIGTERM stops it (a
    supervisor, systemd or Docker's restart policy, starts it again), as `offlinetube-api
    worker` does (queue/worker.py, until_stopped)."""
    await worker.wait_ended()
    logger.error("this process's download worker stopped (the database was lost); stopping")
    os.kill(os.getpid(), signal.SIGTERM)


@asynccontextmanager
async def distributed_core(
    settings: Settings,
    *,
    programs: Programs,
    notifier: WebhookNotifier | None,
    slots: int,
    metrics: DownloadMetrics | None = None,
) -> AsyncIterator[Core]:
    """PostgreSQL, LISTEN/NOTIFY and procrastinate. `slots` download slots run in this
    process as one worker among others; 0 makes an API-only replica. `metrics`: where this
    process's runs are counted. Nothing here recovers
    other hosts' work at start-up: a lost worker's tasks are found through its heartbeats.
    A worker's start sweeps only the partial files no run will use again."""
    assert settings.database_url is not None
    _quiet_queue_logs()
    url = settings.database_url.get_secret_value()
    bus = PostgresEventBus(url)
    store = PostgresTaskStore(url)
    await store.open()
    ledger = TaskLedger(store=store, notifier=notifier, metrics=metrics)
    queue = ProcrastinateQueue(database_url=url, store=store)
    cookies = cookie_sets(store)
    downloads = DownloadService(
        store=store, ledger=ledger, queue=queue, settings=settings, cookies=cookies
    )
    events = EventFeed(store=store, bus=bus)
    subscription_store = PostgresSubscriptionStore(store)
    subscriptions = SubscriptionService(
        store=subscription_store, downloads=downloads, schedule=ProcrastinateSchedule(queue.app)
    )
    worker: ProcrastinateWorker | None = None
    watchdog: asyncio.Task[None] | None = None
    try:
        await bus.start()
        await queue.start()
        await events.start()
        if slots:
            await sweep_partial_files(store, settings)
            runner = build_runner(
                store=store,
                ledger=ledger,
                queue=queue,
                settings=settings,
                programs=programs,
                cookies=cookies,
            )
            worker = ProcrastinateWorker(
                queue=queue,
                store=store,
                runner=runner,
                on_interrupted=LostRuns(ledger=ledger, settings=settings),
                concurrency=slots,
                settings=settings,
                also=((SUBSCRIPTIONS_QUEUE, SUBSCRIPTION_SLOTS),),
            )
            checker = subscription_checker(
                subscription_store, downloads=downloads, settings=settings, programs=programs
            )
            register_checks(queue.app, checker)
            await worker.start()
            watchdog = asyncio.create_task(_stop_when_worker_ends(worker), name="worker-watchdog")
        yield Core(
            store=store,
            events=events,
            downloads=downloads,
            cookies=cookies,
            subscriptions=subscriptions,
            worker=worker,
        )
    finally:
        if watchdog:
            watchdog.cancel()
        if worker:
            await worker.close()
        await queue.close()
        await events.close()
        await bus.close()
        await store.close()
