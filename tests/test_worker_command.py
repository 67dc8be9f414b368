"""`offlinetube-api worker` and `serve --workers 0`, each a process of its own on real
PostgreSQL: the API-only replica takes the POST, the worker downloads it from the fixture site
into the shared folder, and both stop cleanly on SIGTERM."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from offlinetube_api import __version__
from tests.fixtures.service import wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite

DOWNLOAD_BOUND_S = 60.0
STOP_BOUND_S = 20.0


def _offlinetube(service: ServiceProcess, *args: str) -> subprocess.Popen[bytes]:
    with service.log.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "offlinetube_api", *args],
            env=service.environment(),
            cwd=service.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def api_replica(postgres_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    """`serve --workers 0` on the test's database; its folders are the installation's."""
    service = ServiceProcess(
        tmp_path / "install",
        database_url=postgres_url,
        allow_private_urls="true",
        shutdown_timeout="4",
    )
    service.root.mkdir()
    service.process = _offlinetube(service, "serve", "--workers", "0")
    service.wait_ready()
    yield service
    service.stop()


@pytest.fixture
def worker(api_replica: ServiceProcess) -> Iterator[subprocess.Popen[bytes]]:
    """`worker --concurrency 1` beside the replica, on the same database and folders."""
    process = _offlinetube(api_replica, "worker", "--concurrency", "1")
    yield process
    process.kill()
    process.wait()


def _status(client: httpx.Client, task_id: str) -> str:
    response = client.get(f"/api/downloads/{task_id}")
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def test_a_worker_says_at_start_what_it_works_on(
    api_replica: ServiceProcess, worker: subprocess.Popen[bytes]
) -> None:
    url = api_replica.settings["database_url"]

    line = wait_until(
        lambda: next((x for x in api_replica.output.splitlines() if "worker started" in x), None),
        what="the worker's start line",
    )

    assert line == (
        f"INFO offlinetube_api.worker_command: offlinetube-api {__version__} worker started: "
        f"concurrency 1, database {url}, downloads folder {api_replica.downloads}"
    )


def test_an_api_only_replica_knows_no_download_slots(api_replica: ServiceProcess) -> None:
    queue = api_replica.client.get("/api/health").json()["queue"]

    assert queue == {"queued": 0, "running": 0, "max_concurrent": None}


def test_a_worker_process_downloads_what_the_api_replica_queued(
    api_replica: ServiceProcess, worker: subprocess.Popen[bytes], site: FixtureSite
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"))
    response = api_replica.client.post("/api/download", json={"url": url})
    assert response.status_code == 202, response.text
    task_id = response.json()["id"]

    wait_until(
        lambda: _status(api_replica.client, task_id) in ("completed", "failed"),
        deadline_s=DOWNLOAD_BOUND_S,
        what="the worker to download it",
    )
    task = api_replica.client.get(f"/api/downloads/{task_id}").json()
    assert task["status"] == "completed", task
    assert (api_replica.downloads / task["filename"]).stat().st_size == task["filesize"]

    worker.terminate()
    assert worker.wait(timeout=STOP_BOUND_S) == 0
    assert api_replica.terminate() == -signal.SIGTERM  # uvicorn's clean stop, re-raised


def _registered_workers(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
    assert row is not None
    return int(row[0])


def test_processes_on_another_downloads_folder_mark_nothing_missing(
    api_replica: ServiceProcess,
    worker: subprocess.Popen[bytes],
    site: FixtureSite,
    tmp_path: Path,
) -> None:
    """A worker and a replica started with the wrong media folder (a default ./downloads, a
    NAS not mounted yet) leave the shared library alone; the replica says why."""
    response = api_replica.client.post(
        "/api/download", json={"url": site.page_url(video=site.url("/media/clip.mp4"))}
    )
    task_id = response.json()["id"]
    wait_until(
        lambda: _status(api_replica.client, task_id) in ("completed", "failed"),
        deadline_s=DOWNLOAD_BOUND_S,
        what="the worker to download it",
    )
    database_url = api_replica.settings["database_url"]
    misplaced = ServiceProcess(tmp_path / "unmounted", database_url=database_url)
    misplaced.root.mkdir()

    stray = _offlinetube(misplaced, "worker", "--concurrency", "1")
    try:
        wait_until(lambda: _registered_workers(database_url) == 2, what="the stray worker")
        assert _status(api_replica.client, task_id) == "completed"
    finally:
        stray.terminate()
        stray.wait(timeout=STOP_BOUND_S)
    misplaced.process = _offlinetube(misplaced, "serve", "--workers", "0")
    try:
        misplaced.wait_ready()
        assert _status(api_replica.client, task_id) == "completed"
    finally:
        misplaced.stop()
    warnings = [line for line in misplaced.output.splitlines() if "looks unmounted" in line]
    assert warnings == [
        f"WARNING offlinetube_api.worker.existing: The downloads folder {misplaced.downloads} "
        "looks unmounted or wrong: none of the 1 videos the database lists is in it. No task "
        "is marked missing; check OFFLINETUBE_DOWNLOADS_DIR, or mount the folder and restart"
    ]
