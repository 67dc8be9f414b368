"""The figures read when Prometheus scrapes, not counted as things happen: the queue, the
tasks by status, the downloads folder's free space, this process's open event streams. In
distributed mode the queue and the task counts come from the store (its kept counts, one
indexed read each), so every replica answers the same: `max()` them across replicas."""

import math
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge

from offlinetube_api.errors import StoreUnavailable
from offlinetube_api.models import TaskStatus
from offlinetube_api.ports import Downloads, TaskStore


class ServiceFigures:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._store_up = Gauge(
            "offlinetube_store_up",
            "1 when this scrape read the store; 0 when the database failed, and then the "
            "queue figures are NaN and the task counts left out",
            registry=registry,
        )
        self._queued = Gauge(
            "offlinetube_queue_depth", "Tasks waiting for a download slot", registry=registry
        )
        self._running = Gauge(
            "offlinetube_downloads_running",
            "Downloads running now: in embedded mode in this process, in distributed mode on "
            "every worker",
            registry=registry,
        )
        self._tasks = Gauge(
            "offlinetube_tasks",
            "Tasks in the store by status: the library's completed and failed downloads",
            ["status"],
            registry=registry,
        )
        self._streams = Gauge(
            "offlinetube_event_streams_open",
            "Server-Sent Event streams this process holds open",
            registry=registry,
        )
        self._free = Gauge(
            "offlinetube_disk_free_bytes",
            "Free space of the downloads folder's file system, in bytes",
            registry=registry,
        )

    async def read(
        self, *, store: TaskStore, downloads: Downloads, streams_open: int, downloads_dir: Path
    ) -> None:
        """Sets every gauge. A failing database is told by `offlinetube_store_up`, not raised:
        the other figures matter most then."""
        self._streams.set(streams_open)
        # On the event loop, as /api/health does: statvfs of a local folder takes microseconds.
        self._free.set(shutil.disk_usage(downloads_dir).free)
        try:
            queue = await downloads.queue_figures()
            counts = {status: await store.count([status]) for status in TaskStatus}
        except StoreUnavailable:
            self._store_up.set(0)
            # Unknown, not zero: NaN shows as a gap in a graph, and no alert on it fires.
            self._queued.set(math.nan)
            self._running.set(math.nan)
            self._tasks.clear()
            return
        self._store_up.set(1)
        self._queued.set(queue.queued)
        self._running.set(queue.running)
        for status, count in counts.items():
            self._tasks.labels(status.value).set(count)
