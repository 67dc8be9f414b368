"""A subscription's retention through HTTP: after a check, its videos beyond `keep_newest` go
(files and records), but never one added by hand nor one that is playing."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fixtures.channel import ChannelVideo
from tests.fixtures.service import RunningService, wait_until
from tests.fixtures.site import FixtureSite


def _channel(site: FixtureSite, count: int) -> tuple[str, list[str]]:
    """A new channel of `count` videos, one a day, `Clip 0` the newest; its name and the
    videos' pages, newest first."""
    name = uuid.uuid4().hex
    now = datetime.now(UTC)
    pages = [
        site.page_url(video=site.url("/media/clip.mp4"), title=f"Clip {n} {name}")
        for n in range(count)
    ]
    site.channels[name] = [
        ChannelVideo(f"{name}-{n}", f"Clip {n}", page, now - timedelta(days=n))
        for n, page in enumerate(pages)
    ]
    return name, pages


def _checked(service: RunningService, path: str, checks: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        current: dict[str, Any] = service.client.get(path).json()
        return current if current["checks"] >= checks else None

    result: dict[str, Any] = wait_until(done, what=f"check {checks}")
    return result


def _by_clip(service: RunningService, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The finished tasks by their clip number."""
    tasks = [service.wait_for_status(task_id, "completed") for task_id in task_ids]
    return {task["title"].split()[1]: task for task in tasks}


def test_retention_removes_the_oldest_but_not_one_playing_nor_one_added_by_hand(
    service: RunningService, site: FixtureSite
) -> None:
    channel, pages = _channel(site, 4)
    by_hand = service.download_and_wait(pages[3])  # Clip 3, the oldest, before subscribing
    body = {"url": site.channel_url(channel), "name": channel}
    subscription = service.client.post("/api/subscriptions", json=body).json()
    path = f"/api/subscriptions/{subscription['id']}"
    first = _checked(service, path, 1)
    clips = _by_clip(service, first["last_task_ids"])
    assert sorted(clips) == ["0", "1", "2"]  # Clip 3 is in the library already

    changed = service.client.patch(path, json={"keep_newest": 1})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["keep_newest"], changed.json()["keep_days"]) == (1, None)
    playing = service.client.get(
        f"/api/stream/{clips['1']['filename']}", headers={"Range": "bytes=0-99"}
    )
    assert playing.status_code == 206
    assert service.client.post(f"{path}/check").status_code == 202
    second = _checked(service, path, 2)

    assert second["last_removed_task_ids"] == [clips["2"]["id"]]
    assert service.client.get(f"/api/downloads/{clips['2']['id']}").status_code == 404
    downloads = service.settings.downloads_dir
    assert not (downloads / clips["2"]["filename"]).exists()
    for kept in (clips["0"], clips["1"], by_hand):
        assert service.task(kept["id"])["status"] == "completed"
        assert (downloads / kept["filename"]).is_file()


def test_retention_fields_are_checked_and_null_keeps_all(
    service: RunningService, site: FixtureSite
) -> None:
    channel, _ = _channel(site, 1)
    url = site.channel_url(channel)
    for bad in ({"keep_newest": 0}, {"keep_days": -1}, {"keep_days": "a week"}):
        refused = service.client.post("/api/subscriptions", json={"url": url, **bad})
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["detail"]
        assert error["loc"] == ["body", next(iter(bad))]

    body = {"url": url, "keep_newest": 5, "keep_days": 30, "back_catalogue": "none"}
    created = service.client.post("/api/subscriptions", json=body).json()
    assert (created["keep_newest"], created["keep_days"]) == (5, 30)
    path = f"/api/subscriptions/{created['id']}"
    changed = service.client.patch(path, json={"keep_newest": None}).json()
    assert (changed["keep_newest"], changed["keep_days"]) == (None, 30)
