import os
import re
import shutil
import subprocess
from collections.abc import Callable
from importlib.metadata import version

from offlinetube_api import __version__
from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite


def test_health_reports_status_versions_and_free_disk(service: RunningService) -> None:
    response = service.client.get("/api/health")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    health = response.json()
    assert set(health) == {
        "status", "version", "yt_dlp_version", "ffmpeg", "queue", "disk_free_bytes", "database"
    }  # fmt: skip
    assert health["status"] == "ok"
    assert health["database"] == {"ok": True, "error": None}
    assert health["version"] == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", health["version"])
    assert health["yt_dlp_version"] == version("yt-dlp")
    free = health["disk_free_bytes"]
    assert isinstance(free, int) and not isinstance(free, bool) and free > 0
    assert free <= shutil.disk_usage(service.settings.downloads_dir).total


def test_health_names_a_working_ffmpeg(service: RunningService) -> None:
    ffmpeg = service.client.get("/api/health").json()["ffmpeg"]

    assert set(ffmpeg) == {"path", "source", "version"}
    assert ffmpeg["source"] in ("path", "imageio-ffmpeg")
    assert os.path.isfile(ffmpeg["path"]) and os.access(ffmpeg["path"], os.X_OK)
    if ffmpeg["source"] == "path":
        assert ffmpeg["path"] == shutil.which("ffmpeg")
    banner = subprocess.run(
        [ffmpeg["path"], "-version"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    assert ffmpeg["version"]
    assert banner.startswith(f"ffmpeg version {ffmpeg['version']} ")


def test_health_queue_is_idle_and_echoes_configured_concurrency(
    make_service: Callable[..., RunningService],
) -> None:
    service = make_service(max_concurrent_downloads=2)

    queue = service.client.get("/api/health").json()["queue"]

    assert queue == service.queue_figures(queued=0, running=0)


def test_health_queue_counts_running_and_queued_downloads(
    make_service: Callable[..., RunningService], site: FixtureSite
) -> None:
    service = make_service(max_concurrent_downloads=2)
    url = site.page_url(video=site.url("/slow/20000/clip.mp4"))
    ids = [service.download(url)["id"] for _ in range(3)]
    for task_id in ids[:2]:
        service.wait_for_status(task_id, "downloading", deadline_s=10)

    queue = service.client.get("/api/health").json()["queue"]

    assert queue == service.queue_figures(queued=1, running=2)
    assert service.task(ids[2])["status"] == "queued"
    assert service.client.delete(f"/api/downloads/{ids[0]}/remove").status_code == 200
    service.wait_for_status(ids[2], "downloading", deadline_s=10)
    queue = service.client.get("/api/health").json()["queue"]
    assert queue == service.queue_figures(queued=0, running=2)


def test_health_stays_fast_while_downloads_run(service: RunningService, site: FixtureSite) -> None:
    task_id = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")))["id"]
    service.wait_for_status(task_id, "downloading", deadline_s=10)

    for _ in range(5):
        response = service.client.get("/api/health", timeout=2)
        assert response.status_code == 200
        assert response.elapsed.total_seconds() < 1
