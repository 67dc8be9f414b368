"""A crash mid-download loses nothing: the next start cleans the partial files and resumes."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.processes import descendants, is_running
from tests.fixtures.service import wait_until
from tests.fixtures.site import FixtureSite


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServiceProcess:
    """`python -m offlinetube_api` as a user would start it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> httpx.Client:
        env = os.environ | {
            "OFFLINETUBE_PORT": str(self.port),
            "OFFLINETUBE_DOWNLOADS_DIR": str(self.root / "downloads"),
            "OFFLINETUBE_THUMBNAILS_DIR": str(self.root / "thumbnails"),
            "OFFLINETUBE_DATA_DIR": str(self.root / "data"),
            "OFFLINETUBE_ALLOW_PRIVATE_URLS": "true",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "offlinetube_api"], env=env, cwd=self.root
        )
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5)

        def healthy() -> bool:
            try:
                return client.get("/api/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, deadline_s=30, what="the service to answer")
        return client

    def kill(self) -> None:
        assert self.process
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def service_process(tmp_path: Path) -> Iterator[ServiceProcess]:
    service = ServiceProcess(tmp_path)
    yield service
    service.stop()


def test_killed_service_restarts_interrupted_download(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    client = service_process.start()
    url = site.page_url(video=site.url("/slow/60000/clip.mp4"), thumb=site.url("/media/thumb.png"))
    task_id = client.post("/api/download", json={"url": url}).json()["id"]

    def mid_download() -> bool:
        task = client.get(f"/api/downloads/{task_id}").json()
        return task["status"] == "downloading" and (task["downloaded_bytes"] or 0) > 0

    wait_until(mid_download, what="the download to be under way")
    partial = service_process.root / "downloads" / ".incomplete" / task_id
    assert any(partial.iterdir()), "a partial file should exist mid-download"
    assert service_process.process
    workers = descendants(service_process.process.pid)
    assert workers, "the download runs in a child process"

    service_process.kill()

    wait_until(
        lambda: not any(is_running(pid) for pid in workers), deadline_s=10, what="orphans to die"
    )
    client = service_process.start()
    task = client.get(f"/api/downloads/{task_id}").json()
    assert task["status"] in ("queued", "downloading")

    def finished() -> dict[str, object] | None:
        current: dict[str, object] = client.get(f"/api/downloads/{task_id}").json()
        return current if current["status"] in ("completed", "failed") else None

    task = wait_until(finished, what="the resumed download to finish")
    assert task["status"] == "completed", task["error"]
    assert (service_process.root / "downloads" / f"video__{task_id}.mp4").stat().st_size == task[
        "filesize"
    ]
    assert not partial.exists()
    assert client.get(f"/api/thumbnails/{task_id}").headers["content-type"] == "image/png"


def test_sigterm_requeues_running_download_and_next_start_finishes_it(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    client = service_process.start()
    url = site.page_url(video=site.url("/slow/60000/clip.mp4"))
    task_id = client.post("/api/download", json={"url": url}).json()["id"]
    wait_until(
        lambda: client.get(f"/api/downloads/{task_id}").json()["status"] == "downloading",
        what="the download to start",
    )
    assert service_process.process

    service_process.process.send_signal(signal.SIGTERM)

    # uvicorn shuts down cleanly, then re-raises the signal, as a well-behaved process does.
    assert service_process.process.wait(timeout=15) in (0, -signal.SIGTERM)
    with sqlite3.connect(service_process.root / "data" / "offlinetube.sqlite3") as database:
        saved = database.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
    assert saved == ("queued",)
    stray = service_process.root / "downloads" / ".incomplete"
    assert not stray.exists() or not any(stray.iterdir())
    client = service_process.start()
    wait_until(
        lambda: client.get(f"/api/downloads/{task_id}").json()["status"] == "completed",
        what="the requeued download to finish",
    )


def test_start_up_sweeps_partial_files_of_tasks_that_are_gone(
    service_process: ServiceProcess,
) -> None:
    leftover = (
        service_process.root / "downloads" / ".incomplete" / "0f8e7d6c-5b4a-4392-8170-a1b2c3d4e5f6"
    )
    leftover.mkdir(parents=True)
    (leftover / "video.mp4.part").write_bytes(b"half a video")

    service_process.start()

    assert not leftover.exists()
