"""The allowed-transitions table and what each transition changes, on plain Task values."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from offlinetube_api.models import ErrorKind, Task, TaskStatus
from offlinetube_api.transitions import (
    ALLOWED,
    Cancelled,
    Completed,
    Failed,
    Processing,
    Requeued,
    RequeueReason,
    Started,
    Transition,
    TransitionName,
    TransitionRefused,
    check,
)

QUEUED = Task(
    id="t1",
    url="https://example.com/v",
    format=None,
    status=TaskStatus.QUEUED,
    created_at=datetime(2026, 11, 30, tzinfo=UTC),
    attempts=2,
    warnings=("a thumbnail was skipped",),
)


def with_status(status: TaskStatus, **changes: object) -> Task:
    return replace(QUEUED, status=status, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "transition"),
    [
        (TaskStatus.COMPLETED, Started(3)),
        (TaskStatus.DOWNLOADING, Started(3)),
        (TaskStatus.QUEUED, Processing()),
        (TaskStatus.CANCELLED, Cancelled()),
        (TaskStatus.FAILED, Cancelled()),
        (TaskStatus.QUEUED, Requeued(RequeueReason.RETRIED)),
        # A client's retry or a POST after a deleted file never requeues a run started since.
        (TaskStatus.DOWNLOADING, Requeued(RequeueReason.RETRIED)),
        (TaskStatus.DOWNLOADING, Requeued(RequeueReason.FILE_MISSING)),
        (TaskStatus.CANCELLED, Requeued(RequeueReason.FILE_MISSING)),
        (TaskStatus.COMPLETED, Requeued(RequeueReason.RETRY)),
        (TaskStatus.CANCELLED, Failed("late", ErrorKind.UNKNOWN)),
    ],
)
def test_a_transition_from_a_status_it_does_not_allow_is_refused(
    status: TaskStatus, transition: Transition
) -> None:
    with pytest.raises(TransitionRefused, match=str(status)):
        check(with_status(status), transition)


def test_every_named_transition_but_queued_imported_and_removed_has_its_sources() -> None:
    checked = set(TransitionName) - {
        TransitionName.QUEUED,
        TransitionName.IMPORTED,
        TransitionName.REMOVED,
    }
    assert set(ALLOWED) == checked
    assert all(ALLOWED[name] for name in checked)


def test_started_begins_a_clean_attempt() -> None:
    failed_before = with_status(TaskStatus.QUEUED, error="timed out", progress=40.0)
    changes = Started(3).changes(failed_before)
    assert changes["status"] is TaskStatus.DOWNLOADING
    assert changes["attempts"] == 3
    assert changes["error"] is None
    assert changes["progress"] == 0.0


def test_completed_adds_its_warnings_to_the_tasks_once() -> None:
    running = with_status(TaskStatus.PROCESSING, duration=12.5)
    done = Completed(
        filename="video__t1.mp4",
        ext="mp4",
        filesize=1000,
        thumbnail_file=None,
        warnings=("a thumbnail was skipped", "a subtitle was skipped"),
    ).changes(running)
    assert done["warnings"] == ("a thumbnail was skipped", "a subtitle was skipped")
    assert done["downloaded_bytes"] == done["total_bytes"] == 1000
    assert done["duration"] == 12.5  # the one known before, when yt-dlp reports none


def test_a_shutdown_does_not_count_as_an_attempt_and_a_clients_retry_starts_over() -> None:
    running = with_status(TaskStatus.DOWNLOADING, attempts=3)
    assert Requeued(RequeueReason.SHUTDOWN, attempts=2).changes(running)["attempts"] == 2
    failed = with_status(TaskStatus.FAILED, attempts=4, error="gone")
    retried = Requeued(RequeueReason.RETRIED).changes(failed)
    assert retried["attempts"] == 0
    assert retried["error"] is None


def test_a_scheduled_retry_keeps_the_error_that_caused_it() -> None:
    running = with_status(TaskStatus.DOWNLOADING)
    requeued = Requeued(RequeueReason.RETRY, error="HTTP 503", error_kind=ErrorKind.NETWORK)
    changes = requeued.changes(running)
    assert (changes["status"], changes["error"], changes["error_kind"]) == (
        TaskStatus.QUEUED,
        "HTTP 503",
        ErrorKind.NETWORK,
    )


def test_a_missing_file_keeps_when_the_task_finished() -> None:
    finished = datetime(2026, 11, 29, tzinfo=UTC)
    completed = with_status(TaskStatus.COMPLETED, finished_at=finished)
    changes = Failed("file gone", ErrorKind.FILE_MISSING).changes(completed)
    assert changes["finished_at"] == finished
    check(completed, Failed("file gone", ErrorKind.FILE_MISSING))
