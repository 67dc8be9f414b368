"""The core of one process, by mode: the store, the event bus and feed, the job queue and the
download service the API uses, and (where this process runs downloads) the runner.

Embedded (no `OFFLINETUBE_DATABASE_URL`): SQLite, the in-process bus and queue; this process
runs every download. Distributed: PostgreSQL, LISTEN/NOTIFY, procrastinate; this process runs
`slots` downloads as one worker among others (0: an API-only replica)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from offlinetube_api.config import Settings
from offlinetube_api.cookie_sets import (
    COOKIE_FILES,
    CookieSets,
    cookie_sets,
    sweep_cookie_files,
)
from offlinetube_api.download_service import DownloadService
from offlinetube_api.event_bus import InProcessEventBus
from offlinetube_api.events import EventFeed
from offlinetube_api.metrics.downloads import DownloadMetrics
from offlinetube_api.ports import EventBus, TaskStore
from offlinetube_api.programs import Programs
from offlinetube_api.queue.embedded import EmbeddedQueue
from offlinetube_api.store import SqliteTaskStore
from offlinetube_api.subscriptions.assembly import subscription_checker
from offlinetube_api.subscriptions.schedule import InProcessSchedule
from offlinetube_api.subscriptions.service import SubscriptionService
from offlinetube_api.subscriptions.sqlite_store import SqliteSubscriptionStore
from offlinetube_api.webhooks import WebhookNotifier
from offlinetube_api.worker.ledger import TaskLedger
from offlinetube_api.worker.process import ChildMain, default_child_main
from offlinetube_api.worker.recovery import requeue_interrupted, sweep_partial_files
from offlinetube_api.worker.runner import build_runner

if TYPE_CHECKING:  # distributed mode's modules load only in distributed mode
    from offlinetube_api.queue.worker import ProcrastinateWorker

logger = logging.getLogger(__name__)

# How often the embedded service drops task events beyond the retention settings.
PRUNE_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Core:
    store: TaskStore
    events: EventFeed
    downloads: DownloadService
    cookies: CookieSets
    subscriptions: SubscriptionService
    # Distributed mode, where this process runs downloads: its procrastinate worker.
    worker: "ProcrastinateWorker | None" = None


async def prune_events(store: TaskStore, settings: Settings) -> int:
    """Drops events beyond `OFFLINETUBE_EVENT_RETENTION` and `..._EVENT_RETENTION_DAYS`."""
    max_age = timedelta(days=settings.event_retention_days)
    return await store.prune_events(keep=settings.event_retention, max_age=max_age)


async def _prune_periodically(store: TaskStore, settings: Settings) -> None:
    while True:
        await asyncio.sleep(PRUNE_EVERY_S)
        try:
            await prune_events(store, settings)
        except Exception:  # a failing database is reported by the health route
            logger.warning("could not prune task events", exc_info=True)


@asynccontextmanager
async def embedded_core(
    settings: Settings,
    *,
    programs: Programs,
    notifier: WebhookNotifier | None,
    child_main: ChildMain = default_child_main,
    metrics: DownloadMetrics | None = None,
) -> AsyncIterator[Core]:
    """SQLite and the in-process queue; recovers what the previous run left behind.
    `child_main`: what each download process runs (see worker/process.py); `metrics`: where
    its runs are counted."""
    bus: EventBus = InProcessEventBus()
    store = SqliteTaskStore(settings.database_path, announce=bus.announce)
    await store.open()
    await bus.start()
    ledger = TaskLedger(store=store, notifier=notifier, metrics=metrics)
    queue = EmbeddedQueue(
        store=store,
        slots=settings.max_concurrent_downloads,
        shutdown_timeout_s=settings.shutdown_timeout / 2,
    )
    cookies = cookie_sets(store)
    downloads = DownloadService(
        store=store, ledger=ledger, queue=queue, settings=settings, cookies=cookies
    )
    runner = build_runner(
        store=store,
        ledger=ledger,
        queue=queue,
        settings=settings,
        programs=programs,
        cookies=cookies,
        child_main=child_main,
    )
    events = EventFeed(store=store, bus=bus)
    subscription_store = SqliteSubscriptionStore(store)
    checker = subscription_checker(
        subscription_store, downloads=downloads, settings=settings, programs=programs
    )
    schedule = InProcessSchedule(checker, poll_s=settings.subscription_poll_seconds)
    subscriptions = SubscriptionService(
        store=subscription_store, downloads=downloads, schedule=schedule
    )
    pruner: asyncio.Task[None] | None = None
    try:
        await events.start()
        await downloads.existing.check_files()
        await requeue_interrupted(store, ledger)
        await sweep_partial_files(store, settings)
        await asyncio.to_thread(sweep_cookie_files, settings.data_dir / COOKIE_FILES)
        await queue.start(runner)
        await subscription_store.release_claims()  # the checks a stop interrupted run again
        schedule.start()
        pruner = asyncio.create_task(_prune_periodically(store, settings), name="event-pruner")
        yield Core(
            store=store,
            events=events,
            downloads=downloads,
            cookies=cookies,
            subscriptions=subscriptions,
        )
    finally:
        if pruner:
            pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pruner
        await schedule.close()
        await queue.close()
        await events.close()
        await bus.close()
        await store.close()
