"""The distributed job queue: procrastinate, on the PostgreSQL database the store uses.

A job carries only its task's id; the task itself lives in the store. All jobs of one task
share one key, `download:<task id>`, used as both of procrastinate's locks:
- `queueing_lock`: at most one job per task waits (`todo`); enqueueing a waiting task again
  is a no-op, and the waiting job keeps its schedule;
- `lock`: at most one runs (`doing`); a job queued while its task's previous run has not ended
  waits for that run to end, on any host.
The workers that run these jobs are in queue/worker.py.
"""

import asyncio
import logging
import time

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job, Status

from offlinetube_api.models import TaskStatus
from offlinetube_api.ports import QueueFigures, TaskStore
from offlinetube_api.postgres_sessions import session_options
from offlinetube_api.queue.procrastinate_schema import ensure_schema

logger = logging.getLogger(__name__)

DOWNLOAD_TASK = "offlinetube.download"
DOWNLOADS_QUEUE = "offlinetube.downloads"
# Periodic upkeep (stalled jobs, the reconciler, pruning), on a queue of its own so that busy
# download slots never hold it up.
UPKEEP_QUEUE = "offlinetube.upkeep"
# How long `abort` waits for the aborted run to end, and how often it looks.
ABORT_WAIT_S = 5.0
ABORT_CHECK_S = 0.05


def job_key(task_id: str) -> str:
    """The lock and queueing lock of every job of the task."""
    return f"download:{task_id}"


class ProcrastinateQueue:
    """ports.JobQueue over procrastinate, for the API side; its App and connection pool are
    shared with this process's worker, if it runs one (queue/worker.py)."""

    def __init__(self, *, database_url: str, store: TaskStore) -> None:
        self._connector = PsycopgConnector(
            conninfo=database_url,
            min_size=1,
            max_size=4,
            kwargs={
                "application_name": "offlinetube-queue",
                "options": session_options(database_url),
            },
        )
        self.app = App(connector=self._connector)
        self._store = store

    async def start(self) -> None:
        """Opens the connection pool and makes procrastinate's schema if the database has
        none. Raises QueueSchemaOutdated when procrastinate was upgraded and the database
        was not (see procrastinate_schema.py)."""
        await self.app.open_async()
        try:
            await ensure_schema(self._connector.pool)
        except BaseException:
            await self.app.close_async()
            raise

    async def close(self) -> None:
        """Closes the pool; a worker sharing it (queue/worker.py) must be closed first."""
        await self.app.close_async()

    async def enqueue(self, task_id: str, *, delay_s: float = 0.0) -> None:
        key = job_key(task_id)
        deferrer = self.app.configure_task(
            DOWNLOAD_TASK,
            queue=DOWNLOADS_QUEUE,
            lock=key,
            queueing_lock=key,
            schedule_in={"seconds": delay_s} if delay_s > 0 else None,
        )
        try:
            await deferrer.defer_async(task_id=task_id)
        except AlreadyEnqueued:
            logger.debug("task %s already has a waiting job", task_id)

    async def withdraw(self, task_id: str) -> bool:
        """Deletes the task's waiting job. False when there is none: it never had one, it ran
        already, or a worker has just taken it (then `abort` reaches it)."""
        for job in await self._jobs(task_id, Status.TODO):
            assert job.id is not None  # jobs read from the database have one
            if await self.app.job_manager.cancel_job_by_id_async(job.id, delete_job=True):
                return True
        return False

    async def abort(self, task_id: str) -> None:
        """Marks the task's running job for abortion; procrastinate tells its worker at once
        (NOTIFY), and each worker also polls for such marks every second. Returns once the
        job has ended (its run settled the task), or after ABORT_WAIT_S when its worker does
        not answer: a lost worker's job keeps the mark, and the upkeep settles its task as
        cancelled once the worker's heartbeat is stale (queue/upkeep.py)."""
        running = [job.id for job in await self._jobs(task_id, Status.DOING) if job.id]
        for job_id in running:
            await self.app.job_manager.cancel_job_by_id_async(job_id, abort=True)
        deadline = time.monotonic() + ABORT_WAIT_S
        while running and time.monotonic() < deadline:
            await asyncio.sleep(ABORT_CHECK_S)
            running = [job_id for job_id in running if await self._still_running(job_id)]

    async def figures(self) -> QueueFigures:
        """From the store's kept counts. procrastinate does not know how many slots its
        workers have (its workers table holds only heartbeats), so max_concurrent is None."""
        queued = await self._store.count([TaskStatus.QUEUED])
        running = await self._store.count([TaskStatus.DOWNLOADING, TaskStatus.PROCESSING])
        return QueueFigures(queued=queued, running=running, max_concurrent=None)

    async def _still_running(self, job_id: int) -> bool:
        jobs = await self.app.job_manager.list_jobs_async(id=job_id)
        return any(job.status == Status.DOING.value for job in jobs)

    async def _jobs(self, task_id: str, status: Status) -> list[Job]:
        key = job_key(task_id)
        jobs = await self.app.job_manager.list_jobs_async(
            task=DOWNLOAD_TASK, status=status.value, lock=key
        )
        return list(jobs)
