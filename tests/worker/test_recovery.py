"""A crash mid-download loses nothing: the next start resumes, and sweeps partial files that no
task will use."""

import signal

from tests.fixtures.processes import descendants, is_running
from tests.fixtures.service import wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite


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

    task = wait_until(
        finished, deadline_s=service_process.rerun_deadline_s, what="the resumed download to finish"
    )
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
    assert service_process.saved_status(task_id) == "queued"
    client = service_process.start()
    wait_until(
        lambda: client.get(f"/api/downloads/{task_id}").json()["status"] == "completed",
        deadline_s=service_process.rerun_deadline_s,
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
