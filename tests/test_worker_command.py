"""`offlinetube-api worker` and `serve --workers 0`, each a process of its own on real
PostgreSQL: the API-only replica takes the POST, the worker downloads it from the fixture site
into the shared folder, and both stop cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from offlinetube_api import __version__
from offlinetube_api.js_runtime import locate_js_runtime
from tests.fixtures.processes import descendants, download_processes, is_running
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

    assert line.startswith(
        f"INFO offlinetube_api.start_summary: offlinetube-api {__version__} worker started: "
        f"distributed mode (postgresql {url}, procrastinate queue, 1 download slot); "
        f"downloads {api_replica.downloads}, thumbnails {api_replica.root / 'thumbnails'}, "
        f"data {api_replica.data_dir}; SSRF guard off; ffmpeg /"
    )
    deno = locate_js_runtime(None)  # the deno package's, as the worker found it
    assert deno is not None
    assert line.endswith(f"; JavaScript runtime {deno.path} {deno.version}")


def test_an_api_only_replica_knows_no_download_slots(api_replica: ServiceProcess) -> None:
    queue = api_replica.client.get("/api/health").json()["queue"]

    assert queue == {"queued": 0, "running": 0, "max_concurrent": None}


def test_an_api_only_replica_reads_a_page_itself(
    api_replica: ServiceProcess, site: FixtureSite
) -> None:
    page = site.page_url(video=site.url("/media/clip.mp4"), title="Read by the replica")

    response = api_replica.client.get("/api/info", params={"url": page})

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Read by the replica"


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

    # A worker process registers one procrastinate worker per queue it runs, so count up.
    registered = _registered_workers(database_url)
    stray = _offlinetube(misplaced, "worker", "--concurrency", "1")
    try:
        wait_until(lambda: _registered_workers(database_url) > registered, what="the stray worker")
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


def test_the_worker_logs_the_runs_and_the_replica_what_it_was_asked(
    api_replica: ServiceProcess, site: FixtureSite, tmp_path: Path
) -> None:
    worker_log = tmp_path / "worker.log"
    with worker_log.open("ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "offlinetube_api", "worker", "--concurrency", "1"],
            env=api_replica.environment(),
            cwd=api_replica.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = site.page_url(video=site.url("/media/clip.mp4"))
        task_id = api_replica.client.post("/api/download", json={"url": url}).json()["id"]
        wait_until(
            lambda: f'task {task_id} "Fixture clip": completed' in worker_log.read_text(),
            deadline_s=DOWNLOAD_BOUND_S,
            what="the worker's line of the completed download",
        )
        assert api_replica.client.delete(f"/api/downloads/{task_id}/remove").status_code == 200
    finally:
        worker.kill()
        worker.wait()

    ran = worker_log.read_text()
    asked = api_replica.output
    assert f"task {task_id} {url}: started, attempt 1" in ran
    assert f"task {task_id} {url}: queued" in asked
    assert f'task {task_id} "Fixture clip": removed, with its files' in asked
    assert f"task {task_id} {url}: queued" not in ran
    assert f"task {task_id} {url}: started" not in asked


def _slow_download_started(api_replica: ServiceProcess, site: FixtureSite) -> None:
    """Posts a download of a minute to the replica and waits for a worker to start it."""
    media = site.url(f"/slow/60000/clip.mp4?test={uuid.uuid4().hex}")
    task_id = api_replica.client.post(
        "/api/download", json={"url": site.page_url(video=media)}
    ).json()["id"]
    wait_until(
        lambda: _status(api_replica.client, task_id) == "downloading",
        deadline_s=DOWNLOAD_BOUND_S,
        what="the worker to start it",
    )


def test_sigterm_to_a_worker_mid_download_leaves_no_process_behind(
    api_replica: ServiceProcess, worker: subprocess.Popen[bytes], site: FixtureSite
) -> None:
    _slow_download_started(api_replica, site)
    # The task reads `downloading` once its run starts, a moment before its process does.
    wait_until(lambda: download_processes(worker.pid), what="its download process")
    tree = {worker.pid, *descendants(worker.pid)}
    assert len(tree) >= 3, tree  # the worker, the forkserver, the download process

    worker.terminate()

    wait_until(
        lambda: not any(is_running(pid) for pid in tree),
        deadline_s=STOP_BOUND_S,
        what="the worker's whole tree to end",
    )


def test_a_frozen_download_process_dies_with_its_killed_worker(
    api_replica: ServiceProcess, worker: subprocess.Popen[bytes], site: FixtureSite
) -> None:
    _slow_download_started(api_replica, site)
    (frozen,) = wait_until(lambda: download_processes(worker.pid), what="its download process")
    # It is found once it calls setsid, its first step; its outside watcher (lifeline.py) is
    # forked just after. Stopped in between, it would have none: wait for the watcher.
    wait_until(lambda: descendants(frozen), what="the download process's outside watcher")
    os.kill(frozen, signal.SIGSTOP)  # it cannot act on its worker's death itself

    worker.kill()

    wait_until(
        lambda: not is_running(frozen), deadline_s=STOP_BOUND_S, what="the frozen download to die"
    )
