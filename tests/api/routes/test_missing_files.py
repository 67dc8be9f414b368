"""A video deleted by hand never blocks its URL: posting it again downloads it again under the
same task id, and a start finds and marks completed tasks whose files are gone."""

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite


def _page(site: FixtureSite) -> str:
    return site.page_url(video=site.url(f"/media/clip.mp4?copy={uuid.uuid4()}"))


def _video_path(service: RunningService, task: dict[str, Any]) -> Path:
    return Path(service.settings.downloads_dir) / task["filename"]


def _restart(make_service: ServiceFactory, service: RunningService) -> RunningService:
    service.stop()
    settings = service.settings
    return make_service(
        downloads_dir=settings.downloads_dir,
        thumbnails_dir=settings.thumbnails_dir,
        data_dir=settings.data_dir,
    )


def _post_again_downloads_under_the_same_id(
    service: RunningService, url: str, task: dict[str, Any], **options: Any
) -> None:
    response = service.client.post("/api/download", json={"url": url, **options})

    assert response.status_code == 202, response.text
    assert response.json()["id"] == task["id"]
    assert response.headers["location"] == f"/api/downloads/{task['id']}"
    again = service.wait_for_status(task["id"], "completed", "failed")
    assert again["status"] == "completed", again["error"]
    assert service.client.get(again["stream_url"]).status_code == 200
    assert service.client.get("/api/downloads").headers["x-total-count"] == "1"


def test_deleted_video_is_downloaded_again_under_the_same_id(
    service: RunningService, site: FixtureSite
) -> None:
    url = _page(site)
    task = service.download_and_wait(url)
    _video_path(service, task).unlink()

    _post_again_downloads_under_the_same_id(service, url, task)


def test_deleted_audio_is_extracted_again_under_the_same_id(
    service: RunningService, site: FixtureSite
) -> None:
    url = _page(site)
    task = service.download_and_wait(url, audio_only=True)
    assert task["ext"] == "m4a", task
    _video_path(service, task).unlink()

    _post_again_downloads_under_the_same_id(service, url, task, audio_only=True)


def test_deleted_playlist_video_is_downloaded_again_when_the_playlist_is_posted(
    service: RunningService, site: FixtureSite
) -> None:
    page = site.embeds_url([site.url(f"/media/clip.mp4?copy={uuid.uuid4()}") for _ in range(2)])
    first = service.client.post("/api/download", json={"url": page}).json()
    service.wait_for_status(first["id"], "completed")
    second = wait_until(
        lambda: service.client.get(f"/api/playlists/{first['id']}").json()[1], what="entry 2"
    )
    second = service.wait_for_status(second["id"], "completed")
    _video_path(service, second).unlink()

    response = service.client.post("/api/download", json={"url": page})

    assert response.status_code == 202
    assert response.json()["id"] == first["id"]
    again = service.wait_for_status(second["id"], "completed", "failed")
    assert again["status"] == "completed", again["error"]
    assert _video_path(service, again).is_file()
    assert service.client.get("/api/downloads").headers["x-total-count"] == "2"


def test_start_marks_completed_task_without_its_file_failed_file_missing(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service()
    url = _page(site)
    task = service.download_and_wait(url)
    _video_path(service, task).unlink()

    restarted = _restart(make_service, service)

    marked = restarted.task(task["id"])
    assert marked["status"] == "failed"
    assert marked["error_kind"] == "file_missing"
    assert task["filename"] in marked["error"]
    assert marked["stream_url"] is None
    _post_again_downloads_under_the_same_id(restarted, url, task)


def test_start_restores_a_task_whose_file_is_back(
    make_service: ServiceFactory, site: FixtureSite, tmp_path: Path
) -> None:
    service = make_service()
    task = service.download_and_wait(_page(site))
    video = _video_path(service, task)
    aside = video.rename(tmp_path / video.name)  # a disk that was not mounted at start, say
    service = _restart(make_service, service)
    assert service.task(task["id"])["error_kind"] == "file_missing"
    aside.rename(video)

    restarted = _restart(make_service, service)

    restored = restarted.task(task["id"])
    assert restored["status"] == "completed"
    assert (restored["error"], restored["error_kind"]) == (None, None)
    assert restarted.client.get(restored["stream_url"]).status_code == 200


def test_start_on_an_unmounted_downloads_folder_marks_nothing_and_says_so(
    make_service: ServiceFactory,
    site: FixtureSite,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_service()
    tasks = [service.download_and_wait(_page(site)) for _ in range(2)]
    service.stop()
    mount_point = tmp_path / "nas"  # nothing mounted on it yet
    mount_point.mkdir()
    settings = service.settings

    with caplog.at_level(logging.WARNING, logger="offlinetube_api.worker.existing"):
        unmounted = make_service(
            downloads_dir=mount_point,
            thumbnails_dir=settings.thumbnails_dir,
            data_dir=settings.data_dir,
        )

    assert [unmounted.task(task["id"])["status"] for task in tasks] == ["completed"] * 2
    checked = [r for r in caplog.records if r.name == "offlinetube_api.worker.existing"]
    assert [record.getMessage() for record in checked] == [
        f"The downloads folder {mount_point} looks unmounted or wrong: none of the 2 videos the "
        "database lists is in it. No task is marked missing; check OFFLINETUBE_DOWNLOADS_DIR, "
        "or mount the folder and restart"
    ]
    unmounted.stop()
    mounted = make_service(
        downloads_dir=settings.downloads_dir,
        thumbnails_dir=settings.thumbnails_dir,
        data_dir=settings.data_dir,
    )
    for task in tasks:
        assert mounted.client.get(mounted.task(task["id"])["stream_url"]).status_code == 200
