"""What the downloads this process runs come to: how each run ended (and why, for a failure),
the bytes of the files they finished, and how long they took. Fed by the ledger with each
transition a run saves, so in distributed mode each worker counts its own runs."""

import time

from prometheus_client import CollectorRegistry, Counter, Histogram

from offlinetube_api.models import Task
from offlinetube_api.transitions import (
    Cancelled,
    Completed,
    Expanded,
    Failed,
    Requeued,
    RequeueReason,
    Started,
    Transition,
)

# Outcomes of a run, the `outcome` label.
COMPLETED, FAILED, RETRIED, CANCELLED, INTERRUPTED, PLAYLIST = (
    "completed",
    "failed",
    "retried",  # a transient failure, queued again after a back-off
    "cancelled",
    "interrupted",  # its worker stopped; queued again for the next one
    "playlist",  # it found a playlist and became its first video, queued again
)
NO_ERROR = "none"
# A download takes seconds to hours: buckets from 1 s to 2 h.
DURATION_BUCKETS_S = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


class DownloadMetrics:
    """Counts the runs of this process. Used from its event loop only."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._runs = Counter(
            "offlinetube_downloads",
            "Download runs that ended, by outcome and error kind (`none` but for failed and "
            "retried)",
            ["outcome", "error_kind"],
            registry=registry,
        )
        self._bytes = Counter(
            "offlinetube_downloaded_bytes",
            "Bytes of the files completed downloads kept",
            registry=registry,
        )
        self._duration = Histogram(
            "offlinetube_download_duration_seconds",
            "Time from a run's start to its end, by outcome",
            ["outcome"],
            buckets=DURATION_BUCKETS_S,
            registry=registry,
        )
        self._started: dict[str, float] = {}  # task id -> monotonic start of its run here

    def saved(self, task: Task, transition: Transition, *, by_a_run: bool) -> None:
        """`transition` was saved; `task` as it left it. Only the ends of runs count: a cancel
        or a failure decided without a run (a queued task cancelled, a file found missing) is
        not a download's outcome."""
        if isinstance(transition, Started):
            self._started[task.id] = time.monotonic()
            return
        if not by_a_run:
            return
        outcome, error_kind = _outcome(transition)
        if outcome is None:
            return
        self._runs.labels(outcome, error_kind).inc()
        started = self._started.pop(task.id, None)
        if started is not None:
            self._duration.labels(outcome).observe(time.monotonic() - started)
        if isinstance(transition, Completed) and transition.filesize:
            self._bytes.inc(transition.filesize)


def _outcome(transition: Transition) -> tuple[str | None, str]:
    """(outcome, error kind) of a run-ending transition; (None, ...) for any other."""
    if isinstance(transition, Completed):
        return COMPLETED, NO_ERROR
    if isinstance(transition, Failed):
        return FAILED, str(transition.kind)
    if isinstance(transition, Cancelled):
        return CANCELLED, NO_ERROR
    if isinstance(transition, Expanded):
        return PLAYLIST, NO_ERROR
    if isinstance(transition, Requeued) and transition.reason is RequeueReason.RETRY:
        return RETRIED, str(transition.error_kind or "unknown")
    if isinstance(transition, Requeued) and transition.reason is RequeueReason.SHUTDOWN:
        return INTERRUPTED, NO_ERROR
    return None, NO_ERROR
