"""An error of the service itself inside a download's run (a bug, not the site's failure) ends
the task `failed` with error kind `unknown`, logged with its traceback, in both modes, and the
task is not run again: in distributed mode a task left running would be taken back by the
reconciler every 10 s, forever."""

import logging
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from offlinetube_api import media
from tests.fixtures.service import ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite

FAULT = "injected fault in the final move"
# The reconciler's tick (10 s), with room for a busy machine.
RECONCILE_BOUND_S = 40.0


@pytest.fixture
def failing_move(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first move of finished files into the library raises, as a bug would; later moves
    work. Returns the ids of the tasks it failed."""
    real = media.move_finished_files
    failed: list[str] = []

    def move(downloads_dir: Path, task_id: str, names: Any) -> None:
        if not failed:
            failed.append(task_id)
            raise RuntimeError(FAULT)
        real(downloads_dir, task_id, names)

    monkeypatch.setattr(media, "move_finished_files", move)
    return failed


def _internal_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.levelno == logging.ERROR and record.exc_info and str(record.exc_info[1]) == FAULT
    ]


def test_an_internal_error_fails_the_task_and_the_slot_goes_on(
    make_service: ServiceFactory,
    site: FixtureSite,
    failing_move: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_service(max_concurrent_downloads=1)  # so the same slot takes the next one
    url = site.page_url(video=site.url("/media/clip.mp4"))
    with caplog.at_level(logging.ERROR, logger="offlinetube_api"):
        failed = service.download_and_wait(url)
        after = service.download_and_wait(url)

    assert failing_move == [failed["id"]]
    assert failed["status"] == "failed"
    assert failed["error_kind"] == "unknown"
    assert failed["error"] == "Internal error (RuntimeError); the service log has the details"
    assert failed["attempts"] == 1
    [logged] = _internal_errors(caplog)
    assert failed["id"] in logged.getMessage()
    downloads = Path(service.settings.downloads_dir)
    assert not media.partial_dir(downloads, failed["id"]).exists()
    # The same slot took the next download.
    assert after["status"] == "completed"


def _reconciled_since(database_url: str, since_s: float) -> bool:
    """A reconciler tick that began after `since_s` (Unix time) has run and ended (its job,
    deleted once done, is no longer referenced)."""
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT 1 FROM procrastinate_periodic_defers WHERE task_name = %s"
            " AND defer_timestamp > %s AND job_id IS NULL",
            ("offlinetube.reconcile", since_s),
        ).fetchone()
    return row is not None


def _download_jobs(database_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT status::text, args->>'task_id' FROM procrastinate_jobs"
            " WHERE task_name = 'offlinetube.download'"
        ).fetchall()


def test_distributed_a_task_failed_by_an_internal_error_is_not_run_again(
    make_replica: ServiceFactory,
    site: FixtureSite,
    failing_move: list[str],
    postgres_url: str,
) -> None:
    service = make_replica()
    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    failed_at = time.time()
    assert (task["status"], task["error_kind"]) == ("failed", "unknown")

    wait_until(
        lambda: _reconciled_since(postgres_url, failed_at),
        deadline_s=RECONCILE_BOUND_S,
        what="a reconciler tick after the failure",
    )

    again = service.task(task["id"])
    assert (again["status"], again["attempts"]) == ("failed", 1)
    assert _download_jobs(postgres_url) == []
