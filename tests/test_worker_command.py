"""`offlinetube-api worker` and `serve --workers 0`, each a process of its own on real
PostgreSQL: the API-only replica takes the POST, the worker downloads it from the fixture site
into the shared folder, and both stop cleanly on SIGTERM."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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
