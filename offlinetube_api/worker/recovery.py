"""What a start of the embedded service finds left over by the previous run: tasks that were
running when it stopped or crashed, and partial files nobody will continue."""

import asyncio
import logging

from offlinetube_api import media
from offlinetube_api.config import Settings
from offlinetube_api.models import ErrorKind, Task, TaskStatus
from offlinetube_api.ports import ProcessGroup, TaskStore
from offlinetube_api.transitions import Failed, Requeued, RequeueReason, TransitionRefused
from offlinetube_api.worker import process_groups
from offlinetube_api.worker.ledger import TaskLedger
from offlinetube_api.worker.outcomes import may_run_again

logger = logging.getLogger(__name__)

# How long a start-up waits for a killed process group of the previous run to disappear.
LEFTOVER_GROUP_DEADLINE_S = 5.0


async def requeue_interrupted(store: TaskStore, ledger: TaskLedger) -> None:
    """Requeue what a crash or a restart left running, oldest first. Nothing of a previous
    run may still be alive: its process group is killed first."""
    interrupted = await store.with_status([TaskStatus.DOWNLOADING, TaskStatus.PROCESSING])
    for task in interrupted:
        try:
            if await _previous_run_ended(task, ledger):
                await ledger.apply(task.id, Requeued(RequeueReason.INTERRUPTED))
                logger.info("task %s was interrupted; it is queued again", task.id)
        except TransitionRefused as refused:
            logger.info("task %s changed meanwhile: %s", task.id, refused)


async def _previous_run_ended(task: Task, ledger: TaskLedger) -> bool:
    """Kill what is left of the task's last download process group, if anything; a group
    that will not die fails the task rather than have two runs write the same files."""
    if task.process_group is None or task.process_started is None:
        return True
    group = ProcessGroup(pgid=task.process_group, started=task.process_started)
    if await process_groups.end(group, deadline_s=LEFTOVER_GROUP_DEADLINE_S):
        return True
    failed = Failed(
        f"its download process group {group.pgid} from before the restart would not stop; "
        "retry once it is gone",
        ErrorKind.UNKNOWN,
    )
    await ledger.apply(task.id, failed)
    return False


async def sweep_partial_files(store: TaskStore, settings: Settings) -> None:
    """Partial files of tasks that are gone, done or cancelled go. Safe while other hosts'
    workers run: a task that may run again keeps its folder, and a run of a task that is
    gone, done or cancelled is ending and deletes its folder itself."""
    downloads = settings.downloads_dir
    leftovers = []
    for name in await asyncio.to_thread(media.partial_folder_names, downloads):
        task = await store.get(name) if media.is_task_id(name) else None
        if task is None or not may_run_again(task):
            leftovers.append(name)
    await asyncio.to_thread(media.remove_partial_folders, downloads, leftovers)
