"""Subscriptions through HTTP: a channel of the fixture site (an RSS feed yt-dlp lists as a
playlist) is followed, checked with "check now", and its new videos are downloaded."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fixtures.channel import ChannelVideo
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite

NOW = datetime.now(UTC)


def _channel(site: FixtureSite, count: int, *, durations: list[int] | None = None) -> str:
    """A new channel of `count` videos, one a day, the newest `Clip 0`; its name."""
    name = uuid.uuid4().hex
    site.channels[name] = []
    for n in range(count):
        _publish(site, name, f"Clip {n}", NOW - timedelta(days=n), (durations or [])[n : n + 1])
    return name


def _publish(
    site: FixtureSite, channel: str, title: str, at: datetime, duration: list[int] | None = None
) -> None:
    page = site.page_url(video=site.url("/media/clip.mp4"), title=f"{title} {channel}")
    guid = f"{channel}-{title}"
    site.channels[channel].append(ChannelVideo(guid, title, page, at, (duration or [None])[0]))


def _subscribe(
    service: RunningService, site: FixtureSite, channel: str, **extra: Any
) -> dict[str, Any]:
    body = {"url": site.channel_url(channel), "name": channel, **extra}
    response = service.client.post("/api/subscriptions", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _checked(service: RunningService, subscription: dict[str, Any], checks: int) -> dict[str, Any]:
    """The subscription once it has made `checks` checks."""
    path = f"/api/subscriptions/{subscription['id']}"

    def done() -> dict[str, Any] | None:
        current: dict[str, Any] = service.client.get(path).json()
        return current if current["checks"] >= checks else None

    result: dict[str, Any] = wait_until(done, what=f"check {checks} of {subscription['name']}")
    return result


def _check_now(
    service: RunningService, subscription: dict[str, Any], checks: int
) -> dict[str, Any]:
    response = service.client.post(f"/api/subscriptions/{subscription['id']}/check")
    assert response.status_code == 202, response.text
    return _checked(service, subscription, checks)


def _titles(service: RunningService, task_ids: list[str]) -> list[str]:
    return [
        service.wait_for_status(task_id, "completed")["title"].split()[1] for task_id in task_ids
    ]


def test_new_videos_are_queued_once_and_downloaded(
    service: RunningService, site: FixtureSite
) -> None:
    channel = _channel(site, 2)
    subscription = _subscribe(service, site, channel)

    first = _checked(service, subscription, 1)
    assert (first["last_found"], first["last_new"], first["last_queued"]) == (2, 2, 2)
    assert first["last_error"] is None
    assert sorted(_titles(service, first["last_task_ids"])) == ["0", "1"]
    task = service.task(first["last_task_ids"][0])
    assert task["subscription_id"] == subscription["id"]
    assert (service.settings.downloads_dir / task["filename"]).is_file()

    second = _check_now(service, subscription, 2)
    assert (second["last_found"], second["last_new"], second["last_queued"]) == (2, 0, 0)

    _publish(site, channel, "Clip new", NOW + timedelta(hours=1))
    third = _check_now(service, subscription, 3)
    assert (third["last_found"], third["last_new"], third["last_queued"]) == (3, 1, 1)
    assert _titles(service, third["last_task_ids"]) == ["new"]


def test_back_catalogue_newest_n_or_none(service: RunningService, site: FixtureSite) -> None:
    channel = _channel(site, 3)
    newest = _subscribe(service, site, channel, back_catalogue=2)
    nothing_old = _subscribe(service, site, channel, back_catalogue="none")

    assert sorted(_titles(service, _checked(service, newest, 1)["last_task_ids"])) == ["0", "1"]
    assert _checked(service, nothing_old, 1)["last_queued"] == 0

    _publish(site, channel, "Clip fresh", NOW + timedelta(hours=1))
    later = _check_now(service, nothing_old, 2)
    assert _titles(service, later["last_task_ids"]) == ["fresh"]


def test_filters_keep_out_what_they_should(service: RunningService, site: FixtureSite) -> None:
    channel = _channel(site, 5, durations=[30, 600, 60, 90, 5])
    filtered = _subscribe(
        service,
        site,
        channel,
        title_exclude=r"clip 1\b",
        title_include=r"^clip [0-3]$",
        min_duration=45,
        max_duration=300,
        published_after=(NOW - timedelta(days=3)).date().isoformat(),
    )

    checked = _checked(service, filtered, 1)

    # 0 is too short, 1 excluded by title (and too long), 4 excluded by the include pattern
    # (and too old); 2 and 3 pass, but 3 was published 3 days ago... on that day: it passes.
    assert sorted(_titles(service, checked["last_task_ids"])) == ["2", "3"]
    assert checked["last_new"] == 5


def test_bad_input_is_a_422_in_words(service: RunningService, site: FixtureSite) -> None:
    url = site.channel_url("any")
    for body, words in (
        ({"url": url, "title_include": "(unclosed"}, "not a valid regular expression"),
        ({"url": url, "interval": 60}, "at least 15 minutes"),
        ({"url": url, "interval": "PT10M"}, "at least 15 minutes"),
        ({"url": url, "interval": "P3000000D"}, "at most 365 days"),
        ({"url": "ftp://example.com/c"}, "http"),
        ({"url": url, "back_catalogue": "some"}, "back_catalogue"),
    ):
        response = service.client.post("/api/subscriptions", json=body)
        assert response.status_code == 422, body
        assert words in response.text, response.text
    assert service.client.get(f"/api/subscriptions/{uuid.uuid4()}").status_code == 404
    assert service.client.get("/api/subscriptions/not-an-id").status_code == 404


def test_interval_takes_seconds_or_iso_8601(service: RunningService, site: FixtureSite) -> None:
    default = _subscribe(service, site, _channel(site, 0))
    daily = _subscribe(service, site, _channel(site, 0), interval="P1D")
    assert default["interval_seconds"] == 6 * 3600
    assert daily["interval_seconds"] == 86400
    response = service.client.patch(f"/api/subscriptions/{daily['id']}", json={"interval": 1800})
    assert response.json()["interval_seconds"] == 1800
    listed = service.client.get("/api/subscriptions").json()
    assert [item["id"] for item in listed] == [default["id"], daily["id"]]


def test_paused_subscription_is_not_checked_until_resumed(
    service: RunningService, site: FixtureSite
) -> None:
    channel = _channel(site, 1)
    subscription = _subscribe(service, site, channel)
    _checked(service, subscription, 1)
    path = f"/api/subscriptions/{subscription['id']}"

    paused = service.client.patch(path, json={"paused": True})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    refused = service.client.post(f"{path}/check")
    assert refused.status_code == 409
    assert "paused" in refused.json()["detail"]

    _publish(site, channel, "Clip later", NOW + timedelta(hours=1))
    assert service.client.patch(path, json={"paused": False}).json()["paused"] is False
    assert _check_now(service, subscription, 2)["last_queued"] == 1


def test_delete_with_files_removes_its_videos(service: RunningService, site: FixtureSite) -> None:
    kept = _subscribe(service, site, _channel(site, 1))
    gone = _subscribe(service, site, _channel(site, 2))
    kept_tasks = _checked(service, kept, 1)["last_task_ids"]
    gone_tasks = _checked(service, gone, 1)["last_task_ids"]
    files = [service.wait_for_status(t, "completed")["filename"] for t in gone_tasks]
    service.wait_for_status(kept_tasks[0], "completed")

    kept_response = service.client.delete(f"/api/subscriptions/{kept['id']}")
    response = service.client.delete(f"/api/subscriptions/{gone['id']}?delete_files=true")

    assert kept_response.json() == {"id": kept["id"], "removed_tasks": 0}
    assert response.json() == {"id": gone["id"], "removed_tasks": 2}
    assert service.client.get(f"/api/downloads/{kept_tasks[0]}").status_code == 200
    for task_id, filename in zip(gone_tasks, files, strict=True):
        assert service.client.get(f"/api/downloads/{task_id}").status_code == 404
        assert not (service.settings.downloads_dir / filename).exists()
    assert service.client.get(f"/api/subscriptions/{gone['id']}").status_code == 404
    assert service.client.delete(f"/api/subscriptions/{gone['id']}").status_code == 404


def test_a_title_pattern_of_exponential_time_fails_its_check_and_holds_nothing(
    service: RunningService, site: FixtureSite
) -> None:
    """`^(a|a)*$` on forty a's and a `!` takes a backtracking engine 2**40 paths: hours, with the
    process held. The check gives up within its budget and says why; the service answers
    meanwhile, and a subscription with an ordinary pattern is checked as usual."""
    channel = _channel(site, 0)
    _publish(site, channel, "a" * 40 + "!", NOW)
    slow = _subscribe(service, site, channel, title_include="^(a|a)*$")
    ordinary = _subscribe(service, site, _channel(site, 1), title_include="^clip 0$")

    assert service.client.get("/api/health").status_code == 200
    failed = _checked(service, slow, 1)
    assert "title_include took over" in failed["last_error"], failed
    assert failed["last_queued"] == 0
    assert _checked(service, ordinary, 1)["last_queued"] == 1


def test_failing_source_backs_off_and_others_keep_going(
    service: RunningService, site: FixtureSite
) -> None:
    missing = _subscribe(service, site, f"gone-{uuid.uuid4().hex}")
    working = _subscribe(service, site, _channel(site, 1))

    failed = _checked(service, missing, 1)
    assert "404" in failed["last_error"]
    assert failed["failures"] == 1
    assert _checked(service, working, 1)["last_queued"] == 1

    again = _check_now(service, missing, 2)
    assert again["failures"] == 2
    first_wait = datetime.fromisoformat(failed["next_check_at"]) - datetime.fromisoformat(
        failed["last_checked_at"]
    )
    second_wait = datetime.fromisoformat(again["next_check_at"]) - datetime.fromisoformat(
        again["last_checked_at"]
    )
    # Counted from the end of the check, so each wait is the back-off plus the check's own
    # seconds (one took 4.7 s on a loaded machine): twice the 6 h interval, then four times.
    check_slack = timedelta(minutes=5)
    assert timedelta(hours=12) <= first_wait < timedelta(hours=12) + check_slack
    assert timedelta(hours=24) <= second_wait < timedelta(hours=24) + check_slack


def test_a_video_already_downloaded_is_not_queued_again(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service()
    channel = _channel(site, 1)
    one = _subscribe(service, site, channel)
    task_id = _checked(service, one, 1)["last_task_ids"][0]
    service.wait_for_status(task_id, "completed")

    other = _subscribe(service, site, channel)  # another subscription of the same channel

    checked = _checked(service, other, 1)
    assert (checked["last_new"], checked["last_queued"]) == (1, 0)
