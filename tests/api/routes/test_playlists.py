"""A page with several videos becomes one task per video, and they can be cancelled at once."""

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
