"""One log line per event of a task's life that an operator follows: queued, started (attempt
n), completed (size, time, average speed), failed (its kind and message, at WARNING), retried
(after how long), queued again, held back for its site, cancelled, removed. Each names the
task by id and title (its URL while the title is not known yet), and carries the same facts
as fields (`extra`) for the JSON format: `event`, `task_id`, `title`, `url` and those of the
event.

Written by the process where the event happens: the one that took the request (queued,
cancelled, removed, a client's retry) and the one that runs the download (started, completed,
failed, a retry after a transient failure); in embedded mode both are the service."""

import logging
from typing import Any

from offlinetube_api.models import ErrorKind, Task
from offlinetube_api.transitions import RequeueReason

logger = logging.getLogger(__name__)

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def queued(task: Task) -> None:
    _log(logging.INFO, task, "queued", "queued")


def queued_again(task: Task, reason: RequeueReason) -> None:
    """Back to the queue for a reason other than a retry after a failure (see retrying)."""
    _log(logging.INFO, task, "requeued", f"queued again ({reason})", reason=str(reason))


def held_back(task: Task) -> None:
    """`task` as held back for its site (worker/site_gate.py): why, and until when."""
    until = f" until {task.waiting_until.isoformat()}" if task.waiting_until else ""
    _log(
        logging.INFO,
        task,
        "waiting",
        f"waits for {task.site}{until} ({task.waiting_reason})",
        site=task.site,
        waiting_reason=str(task.waiting_reason),
        waiting_until=task.waiting_until.isoformat() if task.waiting_until else None,
    )


def started(task: Task, attempt: int) -> None:
    _log(logging.INFO, task, "started", f"started, attempt {attempt}", attempt=attempt)


def completed(task: Task) -> None:
    """`task` as completed: its file's size, and the time since its last attempt started."""
    elapsed_s = (
        (task.finished_at - task.started_at).total_seconds()
        if task.finished_at and task.started_at
        else None
    )
    speed = task.filesize / elapsed_s if task.filesize is not None and elapsed_s else None
    said = ", ".join(
        part
        for part in (
            size_text(task.filesize) if task.filesize is not None else None,
            f"in {elapsed_s:.1f} s" if elapsed_s is not None else None,
            f"{size_text(round(speed))}/s on average" if speed is not None else None,
        )
        if part
    )
    _log(
        logging.INFO,
        task,
        "completed",
        f"completed: {said}" if said else "completed",
        size_bytes=task.filesize,
        elapsed_s=None if elapsed_s is None else round(elapsed_s, 3),
        speed_bytes_per_s=None if speed is None else round(speed),
    )


def failed(task: Task) -> None:
    """`task` as failed: its error kind and message. A WARNING: the download is given up."""
    kind = task.error_kind or ErrorKind.UNKNOWN
    _log(
        logging.WARNING,
        task,
        "failed",
        f"failed ({kind}): {task.error}",
        error_kind=str(kind),
        error=task.error,
    )


def retrying(task: Task, *, attempt: int, delay_s: float) -> None:
    """`task` as requeued after a transient failure of `attempt`; the next in `delay_s`."""
    kind = task.error_kind or ErrorKind.UNKNOWN
    _log(
        logging.INFO,
        task,
        "retrying",
        f"attempt {attempt} failed ({kind}), retrying in {delay_s:.1f} s: {task.error}",
        attempt=attempt,
        error_kind=str(kind),
        error=task.error,
        retry_in_s=delay_s,
    )


def cancelled(task: Task) -> None:
    _log(logging.INFO, task, "cancelled", "cancelled")


def removed(task: Task) -> None:
    _log(logging.INFO, task, "removed", "removed, with its files")


def size_text(size_bytes: int) -> str:
    """`12.3 MiB`: binary units, one decimal from KiB up."""
    size, unit = float(size_bytes), _UNITS[0]
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            break
        size /= 1024
    return f"{size_bytes} B" if unit == "B" else f"{size:.1f} {unit}"


def _log(level: int, task: Task, event: str, what: str, **facts: Any) -> None:
    name = f'"{task.title}"' if task.title else task.url
    fields = {"event": f"task.{event}", "task_id": task.id, "title": task.title, "url": task.url}
    logger.log(level, "task %s %s: %s", task.id, name, what, extra=fields | facts)
