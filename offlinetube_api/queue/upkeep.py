"""Periodic upkeep of the distributed queue, run by the workers (queue/worker.py) on a queue of
its own. Each job runs on one host per tick: procrastinate defers a periodic job once per tick
however many workers defer it (`procrastinate_periodic_defers` is unique per task and tick),
and a queueing lock keeps at most one of each waiting.

- Stalled jobs, every 5 s: a `download` job whose worker has sent no heartbeat for
  `OFFLINETUBE_STALLED_AFTER_SECONDS` (it was killed with -9, its host vanished) is handed to
  `on_interrupted`, which puts its task back in the queue, and then runs again. Worst case
  from the loss to the new run: that setting + 5 s tick + FETCH_POLL_S (queue/worker.py),
  under 40 s with the default of 30 s.
- Reconciler, every 10 s: a task the store has `queued` with no job waiting or running for it
  gets one (a crash between the task's insert and its job's); a task the store has running with
  no job running for it (a run that ended without settling it) is interrupted and queued.
- Pruning, every minute: task events beyond the retention settings, and procrastinate's
  finished jobs after a day.
"""

import logging
from datetime import timedelta
from typing import Protocol

from procrastinate import App
from procrastinate.exceptions import ConnectorException, UniqueViolation
from procrastinate.jobs import Job, Status

from offlinetube_api.config import Settings
from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.queue.procrastinate_queue import (
    DOWNLOAD_TASK,
    UPKEEP_QUEUE,
    ProcrastinateQueue,
)
from offlinetube_api.transitions import TransitionRefused

logger = logging.getLogger(__name__)

FINISHED_JOBS_KEPT_H = 24
EVERY_5_S = "* * * * * */5"  # croniter (procrastinate's) reads a sixth column as seconds
EVERY_10_S = "* * * * * */10"
EVERY_MINUTE = "* * * * *"


class Interrupted(Protocol):
    async def __call__(self, task_id: str, *, cancel_requested: bool) -> None:
        """The task's run was lost (its worker died, or did not stop in time for a shutdown):
        the store puts it back in the queue (requeued: interrupted), or, when a cancel had
        been asked of the lost run, settles it cancelled. May raise TransitionRefused when
        the task is no longer running."""
        ...


async def requeue_lost_run(
    on_interrupted: Interrupted, task_id: str, *, cancel_requested: bool
) -> None:
    try:
        await on_interrupted(task_id, cancel_requested=cancel_requested)
    except TransitionRefused as refused:  # it was queued still, or is settled already
        logger.info("task %s: %s", task_id, refused)


class Upkeep:
    def __init__(
        self,
        *,
        queue: ProcrastinateQueue,
        store: TaskStore,
        on_interrupted: Interrupted,
        settings: Settings,
    ) -> None:
        self._queue = queue
        self._jobs = queue.app.job_manager
        self._store = store
        self._on_interrupted = on_interrupted
        self._settings = settings

    def register(self, app: App) -> None:
        """Makes the periodic jobs known to `app`, whose workers defer them."""
        for job, cron in (
            (self.retry_stalled, EVERY_5_S),
            (self.reconcile, EVERY_10_S),
            (self.prune, EVERY_MINUTE),
        ):
            name = f"offlinetube.{job.__name__}"
            task = app.task(name=name, queue=UPKEEP_QUEUE, queueing_lock=name)(job)
            app.periodic(cron=cron)(task)

    async def retry_stalled(self, timestamp: int) -> None:
        """Runs again the downloads of workers that stopped beating; other stalled jobs (an
        upkeep job of such a worker) are dropped: the next tick does their work."""
        stalled_after_s = self._settings.stalled_after_seconds
        for job in await self._jobs.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s):
            current = await self._still_stalled(job)
            if current is None:
                continue
            if current.task_name != DOWNLOAD_TASK:
                await self._drop(current)
                continue
            task_id = str(current.task_kwargs["task_id"])
            logger.warning("task %s: its worker stopped beating; it runs again", task_id)
            await requeue_lost_run(
                self._on_interrupted, task_id, cancel_requested=current.abort_requested
            )
            await self._retry(current)
        await self._jobs.prune_stalled_workers(stalled_after_s)

    async def reconcile(self, timestamp: int) -> None:
        """Gives every queued task a job, and takes back the running tasks that no job runs."""
        queued = await self._store.with_status([TaskStatus.QUEUED])
        running = await self._store.with_status([TaskStatus.DOWNLOADING, TaskStatus.PROCESSING])
        with_jobs = await self._tasks_with_jobs()
        for task in queued:
            if task.id not in with_jobs:
                logger.info("task %s was queued without a job; it gets one", task.id)
                await self._queue.enqueue(task.id)
        for task in running:
            if task.id not in with_jobs and await self._still_running(task):
                logger.warning("task %s is running with no job running it", task.id)
                await requeue_lost_run(self._on_interrupted, task.id, cancel_requested=False)
                await self._queue.enqueue(task.id)

    async def prune(self, timestamp: int) -> None:
        """Task events beyond the retention settings; procrastinate's finished jobs."""
        await self._store.prune_events(
            keep=self._settings.event_retention,
            max_age=timedelta(days=self._settings.event_retention_days),
        )
        await self._jobs.delete_old_jobs(
            nb_hours=FINISHED_JOBS_KEPT_H,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )

    async def _still_stalled(self, stalled: Job) -> Job | None:
        """The job read again (with its abort mark, which the stalled list lacks), unless it
        left its stalled worker meanwhile: another host's upkeep got to it first."""
        assert stalled.id is not None
        for job in await self._jobs.list_jobs_async(id=stalled.id):
            if job.status == Status.DOING.value and job.worker_id == stalled.worker_id:
                return job
        return None

    async def _retry(self, job: Job) -> None:
        """Back to waiting; procrastinate fails it instead when an abort was asked of it."""
        try:
            await self._jobs.retry_job(job)
        except UniqueViolation:  # the task has a waiting job already: that one runs it
            await self._drop(job)
        except ConnectorException:  # no longer running: another host's upkeep retried it
            logger.info("stalled job %s was settled meanwhile", job.id)

    async def _drop(self, job: Job) -> None:
        assert job.id is not None
        try:
            await self._jobs.finish_job_by_id_async(job.id, Status.ABORTED, delete_job=True)
        except ConnectorException:
            logger.info("stalled job %s was settled meanwhile", job.id)

    async def _tasks_with_jobs(self) -> set[str]:
        """Ids of the tasks that have a download job waiting or running, read in one query:
        a job taken between two reads (todo, then doing) would be in neither."""
        jobs = await self._jobs.list_jobs_async(task=DOWNLOAD_TASK)
        held = {Status.TODO.value, Status.DOING.value}
        return {str(job.task_kwargs.get("task_id")) for job in jobs if job.status in held}

    async def _still_running(self, seen: Task) -> bool:
        """Read after the jobs: still running the same attempt means no run holds it, since
        a run settles its task before its job ends, and a new run would have started a new
        attempt."""
        task = await self._store.get(seen.id)
        return task is not None and task.status.is_active and task.attempts == seen.attempts
