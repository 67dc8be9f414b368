"""This process's download slots in distributed mode: procrastinate workers, run in this
process, that take `download` jobs from the shared database and hand each task to the runner.

Two procrastinate workers run side by side on one App: `concurrency` slots for downloads, and
a small one for the periodic upkeep (queue/upkeep.py), so that busy download slots never hold
up the detection of a lost worker.

How a run ends:
- it settles by itself: the runner saved the task's outcome; a task it left `queued` (a stop
  for shutdown, a retry, a playlist expanded) gets a waiting job if it has none yet;
- cancel or remove: `ProcrastinateQueue.abort` marks the job; procrastinate cancels the job's
  coroutine here (NOTIFY at once, or the poll within ABORT_POLL_S), which stops the runner's
  download with StopReason.CANCEL and waits for it to settle;
- shutdown (`close`): every running download stops with StopReason.SHUTDOWN and the runner
  puts its task back in the queue; procrastinate waits `shutdown_timeout / 2` for that, then
  cancels what is left, and a task left running is handed to `on_interrupted` and queued;
- the worker dies (kill -9, a lost host): its heartbeat ages, and the upkeep's stalled-job
  check on any other host hands the task to `on_interrupted` and runs the job again.
"""

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import Protocol

from procrastinate import JobContext
from procrastinate.exceptions import JobAborted
from procrastinate.job_context import AbortReason
from procrastinate.jobs import DeleteJobCondition

from offlinetube_api.config import HEARTBEAT_INTERVAL_S, Settings
from offlinetube_api.models import TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.queue.procrastinate_queue import (
    DOWNLOAD_TASK,
    DOWNLOADS_QUEUE,
    UPKEEP_QUEUE,
    ProcrastinateQueue,
)
from offlinetube_api.queue.upkeep import Interrupted, Upkeep, requeue_lost_run
from offlinetube_api.worker.outcomes import StopReason
from offlinetube_api.worker.runner import RunningDownload

logger = logging.getLogger(__name__)

# A cancel reaches a download within 2 s even when its NOTIFY is lost: the poll's interval.
ABORT_POLL_S = 1.0
# A job waiting on its task's previous run (the lock) is not announced when that run ends,
# nor is a stalled job put back: workers look for work at least this often.
FETCH_POLL_S = 2.0
# At the end of a shutdown's graceful wait, how long a run gets to settle, and then to unwind
# once cancelled.
UNWIND_S = 1.0
UPKEEP_SLOTS = 3  # one per periodic job, so that none waits for another


class DownloadRunner(Protocol):
    async def run(self, task_id: str, running: RunningDownload) -> None:
        """Downloads the task if it is still queued and settles it; returns once it is
        settled. It must not raise (a failure is the task's outcome; TaskRunner fails the
        task itself on an internal error): a run that raised would fail its job and leave
        its task as it was, and a task left running would then be taken for interrupted by
        the reconciler and run again, every time."""
        ...


class ProcrastinateWorker:
    """Runs up to `concurrency` downloads at once; `close` hands the running ones back."""

    def __init__(
        self,
        *,
        queue: ProcrastinateQueue,
        store: TaskStore,
        runner: DownloadRunner,
        on_interrupted: Interrupted,
        concurrency: int,
        settings: Settings,
        also: Sequence[tuple[str, int]] = (),
    ) -> None:
        """`also`: other queues this process takes jobs of, each with its number of slots
        (their tasks registered on `queue.app` by their owners)."""
        self._queue = queue
        self._also = also
        self._store = store
        self._runner = runner
        self._on_interrupted = on_interrupted
        self._concurrency = concurrency
        self._shutdown_timeout_s = settings.shutdown_timeout / 2
        self._stalled_after_s = settings.stalled_after_seconds
        self._running: dict[str, RunningDownload] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._closing = False
        self._ended = asyncio.Event()
        app = queue.app
        app.task(name=DOWNLOAD_TASK, queue=DOWNLOADS_QUEUE, pass_context=True)(self._download)
        upkeep = Upkeep(queue=queue, store=store, on_interrupted=on_interrupted, settings=settings)
        upkeep.register(app)

    async def start(self) -> None:
        """Starts taking jobs; the queue must be started (its pool open)."""
        self._workers = [
            self._start_worker(DOWNLOADS_QUEUE, self._concurrency, self._shutdown_timeout_s),
            self._start_worker(UPKEEP_QUEUE, UPKEEP_SLOTS, UNWIND_S),
            *(self._start_worker(name, slots, UNWIND_S) for name, slots in self._also),
        ]

    async def wait_ended(self) -> None:
        """Returns when a procrastinate worker stopped by itself (its heartbeat or its
        listener lost the database: procrastinate then stops the worker); the running
        downloads are stopped for shutdown, and the process should close and exit."""
        await self._ended.wait()

    async def close(self) -> None:
        """Stops taking jobs, stops the running downloads for shutdown, and waits (up to
        `shutdown_timeout / 2`, then a little more for cancelled runs to unwind) while the
        runner puts them back in the queue."""
        self._closing = True
        self._stop_runs()
        # Cancelling run_worker_async is procrastinate's graceful stop: no more fetching,
        # a wait of shutdown_graceful_timeout for running jobs, then their abort.
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    def _start_worker(self, queue: str, slots: int, graceful_s: float) -> asyncio.Task[None]:
        run = self._queue.app.run_worker_async(
            name=queue,
            queues=[queue],
            concurrency=slots,
            fetch_job_polling_interval=FETCH_POLL_S,
            abort_job_polling_interval=ABORT_POLL_S,
            shutdown_graceful_timeout=graceful_s,
            delete_jobs=DeleteJobCondition.ALWAYS,
            install_signal_handlers=False,  # the process's owner decides when to close
            # Named rather than left to procrastinate's defaults, which the setting's minimum
            # is measured against; a starting worker prunes the workers it takes for stalled,
            # and their jobs count as stalled at once, so it judges by the setting too.
            update_heartbeat_interval=HEARTBEAT_INTERVAL_S,
            stalled_worker_timeout=self._stalled_after_s,
        )
        worker = asyncio.create_task(run, name=f"procrastinate-{queue}")
        worker.add_done_callback(self._worker_ended)
        return worker

    def _worker_ended(self, worker: asyncio.Task[None]) -> None:
        if not self._closing:
            failure = None if worker.cancelled() else worker.exception()
            logger.error("procrastinate worker %s stopped", worker.get_name(), exc_info=failure)
            # procrastinate gives running jobs a graceful wait: time for them to go back.
            self._stop_runs()
        self._ended.set()

    def _stop_runs(self) -> None:
        for running in list(self._running.values()):
            running.stop(StopReason.SHUTDOWN)

    async def _download(self, context: JobContext, task_id: str) -> None:
        """The `download` job: one run of the task, on this host."""
        if self._closing:  # taken while this worker was closing: it runs elsewhere
            await self._ensure_waiting_job(task_id)
            return
        running = self._running[task_id] = RunningDownload()
        run = asyncio.create_task(self._runner.run(task_id, running), name=f"download-{task_id}")
        try:
            abort = await self._until_settled(context, run, running)
        finally:
            del self._running[task_id]
            running.done.set()
        if abort is AbortReason.SHUTDOWN:
            await self._requeue_abandoned(task_id)
        await self._ensure_waiting_job(task_id)
        if abort is AbortReason.USER_REQUEST:
            raise JobAborted(f"task {task_id} was cancelled")

    async def _until_settled(
        self, context: JobContext, run: asyncio.Task[None], running: RunningDownload
    ) -> AbortReason | None:
        """Waits for the run to end; an abort meanwhile stops its download (a cancel), or,
        once a shutdown's graceful wait is over, gives up on it. Returns the abort's reason."""
        while True:
            try:
                await asyncio.shield(run)
                return context.abort_reason()
            except asyncio.CancelledError:
                reason = context.abort_reason()
                if reason is None:  # not procrastinate's abort: the event loop is ending
                    run.cancel()
                    raise
                if reason is AbortReason.SHUTDOWN:
                    await self._give_up(run, running)
                    return reason
                running.stop(StopReason.CANCEL)

    @staticmethod
    async def _give_up(run: asyncio.Task[None], running: RunningDownload) -> None:
        """The graceful wait is over: one last chance to settle, then the run is cancelled."""
        running.stop(StopReason.SHUTDOWN)
        await asyncio.wait([run], timeout=UNWIND_S)
        if not run.done():
            run.cancel()
            await asyncio.wait([run], timeout=UNWIND_S)

    async def _requeue_abandoned(self, task_id: str) -> None:
        """A run given up at shutdown may have left its task running: the store takes it
        back as interrupted, so a worker elsewhere runs it again."""
        task = await self._store.get(task_id)
        if task is not None and task.status.is_active:
            logger.warning("task %s did not stop in time for the shutdown", task_id)
            await requeue_lost_run(self._on_interrupted, task_id, cancel_requested=False)

    async def _ensure_waiting_job(self, task_id: str) -> None:
        """A task the run left `queued` gets a waiting job, unless it has one already (a
        retry's, scheduled later). Best effort: the reconciler (queue/upkeep.py) catches up
        with whatever this misses."""
        try:
            task = await self._store.get(task_id)
            if task is not None and task.status is TaskStatus.QUEUED:
                await self._queue.enqueue(task_id)
        except Exception:  # the database may be why the run ended; the reconciler retries
            logger.warning("task %s: could not queue its next run", task_id, exc_info=True)


async def until_stopped(worker: ProcrastinateWorker) -> int:
    """Waits, in a worker process, for SIGTERM or SIGINT (returns 0) or for a procrastinate
    worker that stopped by itself (returns 1: the database was lost; a supervisor restarts
    the process). The caller then closes the worker."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    waits = [asyncio.create_task(stop.wait()), asyncio.create_task(worker.wait_ended())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 0 if stop.is_set() else 1
