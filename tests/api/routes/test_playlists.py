"""A page with several videos becomes one task per video, and they can be cancelled at once."""

import uuid

import pytest

from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite


def _playlist_tasks(service: RunningService, playlist_id: str) -> list[dict[str, object]]:
    response = service.client.get(f"/api/playlists/{playlist_id}")
    if response.status_code == 404:
        return []
    tasks: list[dict[str, object]] = response.json()
    return tasks


def test_three_video_page_downloads_as_three_tasks(
    service: RunningService, site: FixtureSite
) -> None:
    videos = [
        site.url("/media/clip.mp4"),
        site.url("/media/clip.webm"),
        site.url("/media/clip.mp4?copy=3"),
    ]
    first = service.download(site.page_url(video=videos, title="Three clips"))
    service.wait_for_status(first["id"], "completed", "failed")

    tasks = _playlist_tasks(service, first["id"])

    assert [task["playlist_index"] for task in tasks] == [1, 2, 3]
    assert tasks[0]["id"] == first["id"]
    for task in tasks:
        done = service.wait_for_status(str(task["id"]), "completed", "failed")
        assert done["status"] == "completed", done["error"]
        assert (service.settings.downloads_dir / done["filename"]).is_file()
    assert {service.task(str(task["id"]))["ext"] for task in tasks} == {"mp4", "webm"}


def test_playlist_limit_caps_the_number_of_tasks(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(playlist_limit=2)
    videos = [site.url(f"/media/clip.mp4?n={n}") for n in range(4)]
    first = service.download(site.page_url(video=videos))
    service.wait_for_status(first["id"], "completed", "failed")

    assert len(_playlist_tasks(service, first["id"])) == 2


def test_cancel_playlist_stops_every_unfinished_task(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(max_concurrent_downloads=1)
    videos = [site.url(f"/slow/20000/clip.mp4?n={n}") for n in range(3)]
    first = service.download(site.page_url(video=videos))
    tasks = wait_until(
        lambda: len(members := _playlist_tasks(service, first["id"])) == 3 and members,
        what="the playlist to be expanded",
    )

    response = service.client.post(f"/api/playlists/{first['id']}/cancel")

    assert response.status_code == 200
    assert response.json() == {"playlist_id": first["id"], "cancelled": 3}
    assert {service.task(str(task["id"]))["status"] for task in tasks} == {"cancelled"}
    incomplete = service.settings.downloads_dir / ".incomplete"
    assert not incomplete.exists() or not any(incomplete.iterdir())


def test_unknown_playlist_answers_404(service: RunningService) -> None:
    for method, path in (("POST", "/cancel"), ("GET", "")):
        response = service.client.request(method, f"/api/playlists/no-such-playlist{path}")

        assert response.status_code == 404
        assert "no-such-playlist" in response.json()["detail"]


def _finished_playlist(
    service: RunningService, playlist_id: str, size: int
) -> list[dict[str, object]]:
    """The playlist's tasks once the first one and then all of them have ended."""
    service.wait_for_status(playlist_id, "completed", "failed", "cancelled")
    assert len(_playlist_tasks(service, playlist_id)) == size

    def ended() -> list[dict[str, object]] | None:
        tasks = _playlist_tasks(service, playlist_id)
        final = all(task["status"] in ("completed", "failed", "cancelled") for task in tasks)
        return tasks if final else None

    result: list[dict[str, object]] = wait_until(ended, what="every task of the playlist to end")
    return result


def _unique(site: FixtureSite, name: str) -> str:
    """The same media under a URL no other test asks for, to find it in the site's log."""
    return site.url(f"/media/{name}?copy={uuid.uuid4()}")


def test_page_embedding_three_videos_downloads_each_in_page_order(
    service: RunningService, site: FixtureSite
) -> None:
    videos = [_unique(site, "clip.mp4"), _unique(site, "clip.webm"), _unique(site, "clip.mp4")]
    page = site.embeds_url(videos)
    first = service.download(page)

    tasks = _finished_playlist(service, first["id"], 3)

    assert [task["status"] for task in tasks] == ["completed"] * 3, tasks
    assert [task["playlist_index"] for task in tasks] == [1, 2, 3]
    assert [task["ext"] for task in tasks] == ["mp4", "webm", "mp4"]
    assert {task["url"] for task in tasks} == {page}
    assert tasks[0]["id"] == first["id"]
    for video in videos:  # each task fetched its own media, the third one included
        assert video.removeprefix(site.base_url) in site.requests
    for task in tasks:
        assert service.client.get(str(task["stream_url"])).status_code == 200


def test_page_embedding_two_audio_elements_extracts_each_as_audio(
    service: RunningService, site: FixtureSite
) -> None:
    tracks = [_unique(site, "clip.webm"), _unique(site, "clip.mp4")]
    first = service.download(site.embeds_url(tracks, tag="audio"), audio_only=True)

    tasks = _finished_playlist(service, first["id"], 2)

    assert [task["status"] for task in tasks] == ["completed"] * 2, tasks
    assert [task["ext"] for task in tasks] == ["m4a", "m4a"]
    for track in tracks:
        assert track.removeprefix(site.base_url) in site.requests


@pytest.mark.parametrize("kind", ["linked", "embedded"])
def test_same_playlist_posted_twice_answers_200_with_the_first_task(
    service: RunningService, site: FixtureSite, kind: str
) -> None:
    media = [_unique(site, "clip.mp4"), _unique(site, "clip.webm")]
    page = site.page_url(video=media) if kind == "linked" else site.embeds_url(media)
    posted = service.client.post("/api/download", json={"url": page})
    assert posted.status_code == 202
    tasks = _finished_playlist(service, posted.json()["id"], 2)

    again = service.client.post("/api/download", json={"url": page})

    assert again.status_code == 200
    assert again.json()["id"] == posted.json()["id"]
    assert again.headers["location"] == f"/api/downloads/{posted.json()['id']}"
    assert [task["source_url"] for task in tasks] == [page, page]
    assert service.client.get("/api/downloads").headers["x-total-count"] == "2"


def test_same_playlist_with_other_options_is_a_new_playlist(
    service: RunningService, site: FixtureSite
) -> None:
    page = site.embeds_url([_unique(site, "clip.mp4"), _unique(site, "clip.mp4")])
    first = service.client.post("/api/download", json={"url": page}).json()
    _finished_playlist(service, first["id"], 2)

    audio = service.client.post("/api/download", json={"url": page, "audio_only": True})

    assert audio.status_code == 202
    assert audio.json()["id"] != first["id"]


@pytest.mark.parametrize("kind", ["linked", "embedded"])
def test_playlist_entries_beyond_max_queued_are_refused_with_a_warning(
    make_service: ServiceFactory, site: FixtureSite, kind: str
) -> None:
    service = make_service(max_queued=2, max_concurrent_downloads=1)
    media = [_unique(site, "clip.mp4") for _ in range(5)]
    page = site.page_url(video=media) if kind == "linked" else site.embeds_url(media)
    first = service.download(page)

    tasks = _finished_playlist(service, first["id"], 2)

    assert [task["status"] for task in tasks] == ["completed"] * 2, tasks
    warnings = service.task(first["id"])["warnings"]
    assert any("3 of the playlist's 5 videos" in w and "MAX_QUEUED" in w for w in warnings)
    assert service.client.get("/api/downloads").headers["x-total-count"] == "2"


def test_playlist_entries_that_are_not_http_are_refused_with_a_warning(
    service: RunningService, site: FixtureSite
) -> None:
    refused = ["ftp://127.0.0.1/clip.mp4", "rtmp://127.0.0.1/live/clip", "rtsp://127.0.0.1/c.mp4"]
    good = _unique(site, "clip.mp4")
    first = service.download(site.page_url(video=[*refused, good]))

    tasks = _finished_playlist(service, first["id"], 1)

    assert tasks[0]["status"] == "completed", tasks
    assert tasks[0]["url"] == good
    warnings = "\n".join(service.task(first["id"])["warnings"])
    for url in refused:
        assert url in warnings
    assert service.client.get("/api/downloads").headers["x-total-count"] == "1"
