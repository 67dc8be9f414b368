import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import deno
import pytest

from offlinetube_api import __version__
from tests.fixtures.postgres import database_down
from tests.fixtures.service import RunningService
from tests.fixtures.service_process import api_replica
from tests.fixtures.site import FixtureSite


def test_health_reports_status_versions_and_free_disk(service: RunningService) -> None:
    response = service.client.get("/api/health")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    health = response.json()
    assert set(health) == {
        "status", "version", "yt_dlp_version", "ffmpeg", "js_runtime", "queue", "disk_free_bytes",
        "database", "cooling_down",
    }  # fmt: skip
    assert health["status"] == "ok"
    assert health["database"] == {"ok": True, "error": None}
    assert health["cooling_down"] == []
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


def _deno_version(path: str) -> str:
    """What `deno --version` says first: "deno 2.9.8 (stable, release, x86_64-...)"."""
    banner = subprocess.run(
        [path, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    match = re.match(r"deno (\d+\.\d+\.\d+) ", banner)
    assert match, banner
    return match[1]


def test_health_names_the_packaged_javascript_runtime(service: RunningService) -> None:
    runtime = service.client.get("/api/health").json()["js_runtime"]

    assert runtime == {
        "name": "deno",
        "version": _deno_version(deno.find_deno_bin()),
        "path": deno.find_deno_bin(),
        "source": "deno-package",
    }


def test_health_names_the_javascript_runtime_the_setting_gives(
    make_service: Callable[..., RunningService], tmp_path: Path
) -> None:
    chosen = tmp_path / "bin" / "deno"
    chosen.parent.mkdir()
    chosen.symlink_to(deno.find_deno_bin())
    service = make_service(js_runtime=str(chosen))

    runtime = service.client.get("/api/health").json()["js_runtime"]

    assert runtime == {
        "name": "deno",
        "version": _deno_version(str(chosen)),
        "path": str(chosen),
        "source": "setting",
    }


def test_without_a_javascript_runtime_health_says_null_and_the_log_warns(
    make_service: Callable[..., RunningService], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="offlinetube_api.js_runtime"):
        service = make_service(js_runtime="none")

    assert service.client.get("/api/health").json()["js_runtime"] is None
    # This logger's alone: a pool of an earlier test's dropped database may warn meanwhile.
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "offlinetube_api.js_runtime"
    ]
    assert warnings == [
        "no JavaScript runtime (OFFLINETUBE_JS_RUNTIME=none): yt-dlp cannot solve YouTube's "
        "JavaScript challenges, so YouTube downloads may fail or offer only some formats"
    ]


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

    # A health check stuck behind the download would wait for it (about 10 s); a fifth of
    # that leaves room for a loaded machine. About 10 ms each on an idle one.
    bound_s = site.pacing_seconds("clip.mp4", 20000) / 5
    for _ in range(5):
        response = service.client.get("/api/health", timeout=bound_s)
        assert response.status_code == 200


def test_health_says_degraded_when_postgresql_refuses_connections(
    postgres_url: str, tmp_path: Path
) -> None:
    with api_replica(tmp_path, postgres_url) as client, database_down(postgres_url):
        health = client.get("/api/health", timeout=90)
        listing = client.get("/api/downloads", timeout=90)
        alive = client.get("/healthz", timeout=90)
        ready = client.get("/readyz", timeout=90)

    assert health.status_code == 200, health.text  # was 503, "see /api/health"
    answer = health.json()
    assert answer["status"] == "degraded"
    assert answer["database"]["ok"] is False and answer["database"]["error"]
    assert answer["queue"] == {"queued": None, "running": None, "max_concurrent": None}
    # Not 500: the host check asks whether keys are required before routing (keys unset).
    assert listing.status_code == 503, listing.text
    assert alive.status_code == 200, alive.text
    assert ready.status_code == 503, ready.text
    assert ready.json()["failing"] == ["store"]
    assert ready.json()["checks"]["store"]["problem"].startswith("the database")
