import itertools
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.processes import download_processes
from tests.fixtures.service import RunningService, wait_until
from tests.fixtures.site import FixtureSite

TASK_FIELDS = {
    "id", "task_id", "url", "format", "title", "status", "progress", "downloaded_bytes",
    "total_bytes", "speed", "eta", "error", "filename", "filesize", "ext", "duration",
    "thumbnail", "stream_url", "created_at", "started_at", "finished_at", "attempts",
    "error_kind", "playlist_id", "playlist_index", "audio_only", "subtitles",
    "warnings", "transcoded", "source_url", "events_url", "cookies", "subscription_id", "site",
    "waiting_until", "waiting_reason",
}  # fmt: skip
IMAGE_MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "image/webp": b"RIFF"}


parse = datetime.fromisoformat


def folders(service: RunningService) -> tuple[Path, Path]:
    return Path(service.settings.downloads_dir), Path(service.settings.thumbnails_dir)


def names(folder: Path, pattern: str) -> list[str]:
    return sorted(path.name for path in folder.glob(pattern))


def plant_bystanders(downloads: Path, thumbnails: Path) -> Callable[[], bool]:
    """Unrelated files; returns a check that they are still there, unchanged."""
    paths = [downloads / "notes.txt", thumbnails / f"{uuid.uuid4()}.jpg"]
    for path in paths:
        path.write_bytes(b"keep me")
    return lambda: all(path.read_bytes() == b"keep me" for path in paths)


def mid_download(service: RunningService, task_id: str) -> dict[str, Any] | None:
    task = service.task(task_id)
    moving = task["status"] == "downloading" and (task["downloaded_bytes"] or 0) > 0
    return task if moving and 0 < task["progress"] < 100 and task["speed"] is not None else None


def stays_true(condition: Callable[[], bool], *, for_s: float) -> bool:
    """Polls `condition` for `for_s` seconds; False as soon as it does not hold."""
    give_up = time.monotonic() + for_s
    while time.monotonic() < give_up:
        if not condition():
            return False
        time.sleep(0.05)
    return condition()


def test_list_is_newest_first_paginated_and_counted(
    service: RunningService, site: FixtureSite
) -> None:
    good = site.page_url(video=site.url("/media/clip.mp4"))
    urls = [site.url("/plain"), good, site.url("/plain"), good, site.url("/plain")]
    ids = [service.download(url)["id"] for url in urls]
    for task_id in ids:
        service.wait_for_status(task_id, "completed", "failed")
    newest_first = ids[::-1]

    everything = service.client.get("/api/downloads")
    assert everything.status_code == 200
    assert [task["id"] for task in everything.json()] == newest_first
    assert everything.headers["x-total-count"] == "5"
    for offset, limit in [(0, 2), (2, 2), (4, 2), (5, 2), (1, 3), (0, 1000)]:
        page = service.client.get("/api/downloads", params={"limit": limit, "offset": offset})
        assert [task["id"] for task in page.json()] == newest_first[offset : offset + limit]
        assert page.headers["x-total-count"] == "5"
    failed = service.client.get("/api/downloads", params={"status": "failed"})
    assert [task["id"] for task in failed.json()] == [ids[4], ids[2], ids[0]]
    assert failed.headers["x-total-count"] == "3"
    completed = service.client.get("/api/downloads", params={"status": "completed", "limit": 1})
    assert [task["id"] for task in completed.json()] == [ids[3]]
    assert completed.headers["x-total-count"] == "2"
    queued = service.client.get("/api/downloads", params={"status": "queued"})
    assert (queued.json(), queued.headers["x-total-count"]) == ([], "0")


@pytest.mark.parametrize(
    "params",
    [{"status": "finished"}, {"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"offset": -1}],
)
def test_list_rejects_bad_query_with_422(service: RunningService, params: dict[str, Any]) -> None:
    response = service.client.get("/api/downloads", params=params)

    assert response.status_code == 422
    assert response.json()["detail"]


def test_get_completed_task_has_every_field(service: RunningService, site: FixtureSite) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"), title="Fields")
    task_id = service.download_and_wait(url)["id"]

    response = service.client.get(f"/api/downloads/{task_id}")

    assert response.status_code == 200
    task = response.json()
    assert set(task) == TASK_FIELDS
    assert (task["id"], task["task_id"], task["url"], task["status"]) == (
        task_id, task_id, url, "completed"
    )  # fmt: skip
    assert (task["format"], task["error"], task["speed"], task["eta"]) == (None, None, None, None)
    assert (task["attempts"], task["error_kind"], task["audio_only"], task["subtitles"]) == (
        1, None, False, []
    )  # fmt: skip
    assert (task["title"], task["ext"], task["progress"]) == ("Fields", "mp4", 100)
    assert task["downloaded_bytes"] == task["total_bytes"] == task["filesize"] > 0
    assert task["duration"] == pytest.approx(3.0, abs=0.1)  # read from the file with ffmpeg
    times = [parse(task[key]) for key in ("created_at", "started_at", "finished_at")]
    assert times == sorted(times)


# Fixed, not random: parallel test workers must collect the same test ids.
@pytest.mark.parametrize("task_id", ["b7d2e5a1-3c4f-4a6b-9e8d-1f2a3b4c5d6e", "not-a-task"])
@pytest.mark.parametrize("method, path", [("GET", "/{}"), ("DELETE", "/{}/remove")])
def test_unknown_task_is_404_with_detail(
    service: RunningService, task_id: str, method: str, path: str
) -> None:
    response = service.client.request(method, "/api/downloads" + path.format(task_id))

    assert response.status_code == 404
    assert task_id in response.json()["detail"]


@pytest.mark.parametrize(
    ("thumb", "stored_ext", "media_type"),
    [
        ("thumb.jpg", "jpg", "image/jpeg"),
        ("thumb.webp", "webp", "image/webp"),
        ("thumb.png", "png", "image/png"),
        ("thumb.gif", "jpg", "image/jpeg"),
        ("thumb.image", "jpg", "image/jpeg"),
        ("thumb.avif", "jpg", "image/jpeg"),
        ("picture", "png", "image/png"),  # no extension: the bytes say what it is
    ],
)
def test_thumbnail_is_stored_locally_in_a_servable_format(
    service: RunningService, site: FixtureSite, thumb: str, stored_ext: str, media_type: str
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url(f"/media/{thumb}"))

    task = service.download_and_wait(url)

    assert task["status"] == "completed", task["error"]
    assert task["warnings"] == []
    assert task["thumbnail"] == f"/api/thumbnails/{task['id']}"
    _, thumbnails = folders(service)
    assert names(thumbnails, f"{task['id']}.*") == [f"{task['id']}.{stored_ext}"]
    served = service.client.get(task["thumbnail"])
    assert served.status_code == 200
    assert served.headers["content-type"] == media_type
    assert served.content.startswith(IMAGE_MAGIC[media_type])
    assert served.content == (thumbnails / f"{task['id']}.{stored_ext}").read_bytes()


@pytest.mark.parametrize("thumb", ["/media/missing.jpg", None], ids=["unreachable", "none"])
def test_thumbnail_not_stored_locally_is_the_remote_url_or_null(
    service: RunningService, site: FixtureSite, thumb: str | None
) -> None:
    remote = site.url(thumb) if thumb else None

    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4"), thumb=remote))

    assert task["status"] == "completed", task["error"]
    assert task["thumbnail"] == remote
    assert names(folders(service)[1], "*") == []
    assert service.client.get(f"/api/thumbnails/{task['id']}").status_code == 404


def test_posted_custom_format_is_echoed_and_completes(
    service: RunningService, site: FixtureSite
) -> None:
    posted = service.download(site.page_url(video=site.url("/media/clip.mp4")), format="b")
    assert posted["format"] == "b"

    task = service.wait_for_status(posted["id"], "completed", "failed")

    assert (task["status"], task["format"], task["error"]) == ("completed", "b", None)
    assert (folders(service)[0] / task["filename"]).stat().st_size == task["filesize"] > 0


def test_throttled_download_shows_progress_before_its_file_appears(
    service: RunningService, site: FixtureSite
) -> None:
    task_id = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")))["id"]

    task = wait_until(lambda: mid_download(service, task_id), deadline_s=10, what="progress")

    assert task["total_bytes"] == (site.media_dir / "clip.mp4").stat().st_size
    assert task["started_at"] is not None
    assert (task["finished_at"], task["filename"], task["stream_url"]) == (None, None, None)
    downloads, _ = folders(service)
    assert names(downloads, f"video__{task_id}.*") == []
    assert names(downloads / ".incomplete" / task_id, "*") != []


def test_remove_completed_task_deletes_record_video_and_all_thumbnails(
    service: RunningService, site: FixtureSite
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"))
    task = service.download_and_wait(url)
    assert task["status"] == "completed", task["error"]
    downloads, thumbnails = folders(service)
    for ext in ("webp", "png"):
        (thumbnails / f"{task['id']}.{ext}").write_bytes(b"planted")
    untouched = plant_bystanders(downloads, thumbnails)

    response = service.client.delete(f"/api/downloads/{task['id']}/remove")

    assert response.status_code == 200
    assert response.json() == {"id": task["id"], "removed": True}
    assert names(downloads, f"*{task['id']}*") == names(thumbnails, f"{task['id']}*") == []
    assert untouched()
    for url in (f"/api/downloads/{task['id']}", task["stream_url"], task["thumbnail"]):
        assert service.client.get(url).status_code == 404, url
    again = service.client.delete(f"/api/downloads/{task['id']}/remove")
    assert again.status_code == 404
    assert task["id"] in again.json()["detail"]


def test_remove_tolerates_video_already_deleted_by_hand(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    (folders(service)[0] / task["filename"]).unlink()

    response = service.client.delete(f"/api/downloads/{task['id']}/remove")

    assert response.status_code == 200
    assert service.client.get(f"/api/downloads/{task['id']}").status_code == 404


def test_remove_running_download_kills_it_promptly_and_leaves_nothing(
    service: RunningService, site: FixtureSite
) -> None:
    url = site.page_url(video=site.url("/slow/20000/clip.mp4"), thumb=site.url("/media/thumb.jpg"))
    before = download_processes()
    task_id = service.download(url)["id"]
    wait_until(lambda: mid_download(service, task_id), deadline_s=10, what="progress")
    downloads, thumbnails = folders(service)
    partial = downloads / ".incomplete" / task_id
    assert f"video__{task_id}.mp4.part" in names(partial, "*")
    (child,) = download_processes() - before
    untouched = plant_bystanders(downloads, thumbnails)

    response = service.client.delete(f"/api/downloads/{task_id}/remove", timeout=10)

    assert response.status_code == 200
    assert response.json() == {"id": task_id, "removed": True}
    # Removal kills the download, never waits for it (about 10 s).
    assert response.elapsed.total_seconds() < site.pacing_seconds("clip.mp4", 20000) / 3
    wait_until(lambda: child not in download_processes(), deadline_s=5, what="child to die")
    assert service.client.get(f"/api/downloads/{task_id}").status_code == 404
    assert stays_true(
        lambda: (
            not partial.exists()
            and not names(downloads, f"video__{task_id}.*")
            and not names(thumbnails, f"{task_id}.*")
        ),
        for_s=1.5,
    )
    assert untouched()
    queue = service.client.get("/api/health").json()["queue"]
    assert (queue["running"], queue["queued"]) == (0, 0)


def test_remove_right_after_post_never_hangs_nor_leaves_a_download_behind(
    service: RunningService, site: FixtureSite
) -> None:
    """The worker may be between taking the task and starting its process; the removal must
    still answer promptly and stop whatever was about to run."""
    url = site.page_url(video=site.url("/slow/20000/clip.mp4"))
    before = download_processes()
    downloads, _ = folders(service)

    for attempt in range(20):
        task_id = service.download(url)["id"]
        try:
            response = service.client.delete(f"/api/downloads/{task_id}/remove", timeout=5)
        except httpx.ReadTimeout:
            pytest.fail(f"DELETE of a just-posted task hung (attempt {attempt})")
        assert response.status_code == 200

    idle = service.queue_figures(queued=0, running=0)
    wait_until(lambda: service.client.get("/api/health").json()["queue"] == idle, deadline_s=5)
    assert service.client.get("/api/downloads").headers["x-total-count"] == "0"
    assert stays_true(
        lambda: (
            not download_processes() - before
            and not names(downloads, "video__*")
            and not names(downloads / ".incomplete", "*")
        ),
        for_s=1.5,
    )


def test_single_slot_runs_downloads_one_at_a_time_in_fifo_order(
    make_service: Callable[..., RunningService], site: FixtureSite
) -> None:
    service = make_service(max_concurrent_downloads=1)
    url = site.page_url(video=site.url("/slow/100000/clip.mp4"))
    ids = [service.download(url)["id"] for _ in range(3)]

    service.wait_for_status(ids[0], "downloading")
    assert [service.task(task_id)["status"] for task_id in ids[1:]] == ["queued", "queued"]
    queue = service.client.get("/api/health").json()["queue"]
    assert queue == service.queue_figures(queued=2, running=1)
    service.wait_for_status(ids[1], "downloading", "processing")
    assert service.task(ids[0])["status"] == "completed"
    assert service.task(ids[2])["status"] == "queued"
    done = [service.wait_for_status(task_id, "completed", "failed") for task_id in ids]

    assert [task["status"] for task in done] == ["completed"] * 3
    for earlier, later in itertools.pairwise(done):
        assert parse(earlier["finished_at"]) <= parse(later["started_at"])
    queue = service.client.get("/api/health").json()["queue"]
    assert queue == service.queue_figures(queued=0, running=0)
