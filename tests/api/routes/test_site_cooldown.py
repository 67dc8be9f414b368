"""Per-site cool-downs and OFFLINETUBE_MAX_PER_SITE, through HTTP: a site that answers 429
holds back every task for it, not the tasks for another site; a site runs at most so many
downloads at once. The other site is a second fixture site on another port (a site is the
URL's host and port, worker/sites.py)."""

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from offlinetube_api.worker import site_gate
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite

# Long enough that the task for the other site surely starts within it on a loaded machine,
# short enough for a quick test.
COOLDOWN_S = 8.0

parse = datetime.fromisoformat


@pytest.fixture
def other_site(media_dir: Path) -> Iterator[FixtureSite]:
    running = FixtureSite(media_dir).start()
    yield running
    running.stop()


def _site(fixture: FixtureSite) -> str:
    return fixture.base_url.removeprefix("http://")


def _cooling_down(service: RunningService) -> list[dict[str, Any]]:
    health = service.client.get("/api/health")
    assert health.status_code == 200
    cooling: list[dict[str, Any]] = health.json()["cooling_down"]
    return cooling


def _waiting(service: RunningService, task_id: str, reason: str) -> dict[str, Any] | None:
    task = service.task(task_id)
    return task if task["status"] == "queued" and task["waiting_reason"] == reason else None


def test_a_site_that_answers_429_holds_back_its_tasks_while_another_site_downloads(
    make_service: ServiceFactory, site: FixtureSite, other_site: FixtureSite
) -> None:
    service = make_service(
        cooldown_seconds=COOLDOWN_S, retry_backoff_seconds=0.05, max_concurrent_downloads=4
    )
    key = f"cooldown-{uuid.uuid4().hex}"  # the site counts hits per key for its whole run
    limited = site.page_url(video=site.url("/media/clip.mp4")).replace(
        "/watch?", f"/flaky/{key}/1?status=429&"
    )
    first = service.download(limited)["id"]
    cooling = wait_until(lambda: _cooling_down(service), what="the site to cool down")
    assert [(c["site"], c["reason"]) for c in cooling] == [(_site(site), "rate_limited")]
    until = cooling[0]["until"]

    same_site = [
        service.download(site.page_url(video=site.url("/media/clip.mp4"), title=f"Same {n}"))["id"]
        for n in (2, 3)
    ]
    elsewhere = service.download(other_site.page_url(video=other_site.url("/media/clip.mp4")))

    for task_id in [first, *same_site]:
        waiting = wait_until(lambda: _waiting(service, task_id, "rate_limited"))  # noqa: B023
        assert (waiting["waiting_until"], waiting["site"]) == (until, _site(site))
    done_elsewhere = service.wait_for_status(elsewhere["id"], "completed")
    assert parse(done_elsewhere["started_at"]) < parse(until)
    assert done_elsewhere["site"] == _site(other_site)
    for task_id in [first, *same_site]:
        done = service.wait_for_status(task_id, "completed")
        # None of them asked the site anything during its cool-down: each started after it.
        assert parse(done["started_at"]) >= parse(until)
        assert (done["waiting_until"], done["waiting_reason"]) == (None, None)
    assert [service.task(task_id)["attempts"] for task_id in same_site] == [1, 1]
    assert (service.task(first)["attempts"], site.flaky_hits[key]) == (2, 2)
    assert _cooling_down(service) == []


def test_a_site_runs_at_most_max_per_site_downloads_at_once(
    make_service: ServiceFactory, site: FixtureSite, other_site: FixtureSite
) -> None:
    service = make_service(max_per_site=1, max_concurrent_downloads=3)
    bytes_per_second = 60_000
    slow = site.page_url(video=site.url(f"/slow/{bytes_per_second}/clip.mp4"))
    assert site.pacing_seconds("clip.mp4", bytes_per_second) > 3

    running = service.download(slow)["id"]
    service.wait_for_status(running, "downloading")
    second = service.download(site.page_url(video=site.url("/media/clip.mp4")))["id"]
    elsewhere = service.download(other_site.page_url(video=other_site.url("/media/clip.mp4")))

    waiting = wait_until(lambda: _waiting(service, second, "site_busy"))
    assert (waiting["waiting_until"], waiting["site"]) == (None, _site(site))
    done_elsewhere = service.wait_for_status(elsewhere["id"], "completed")
    first_done = service.wait_for_status(running, "completed")
    second_done = service.wait_for_status(second, "completed")
    assert parse(done_elsewhere["started_at"]) < parse(first_done["finished_at"])
    assert parse(second_done["started_at"]) >= parse(first_done["finished_at"])
    assert second_done["attempts"] == 1


@pytest.mark.stores("sqlite")  # distributed mode's queue keeps a waiting job's schedule
def test_a_task_held_back_by_the_cap_starts_when_a_download_of_its_site_ends(
    make_service: ServiceFactory, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held back for the cap, the oldest task of the site is woken by the end of that site's
    download, not by its next look: with the look an hour away, the two still run one after
    the other, the later in the order they were posted."""
    monkeypatch.setattr(site_gate, "SITE_BUSY_LOOK_S", 3600.0)
    service = make_service(max_per_site=1, max_concurrent_downloads=3)
    slow = site.page_url(video=site.url("/slow/60000/clip.mp4"))
    running = service.download(slow)["id"]
    service.wait_for_status(running, "downloading")
    held = [
        service.download(site.page_url(video=site.url("/media/clip.mp4"), title=f"Held {n}"))["id"]
        for n in (1, 2)
    ]
    for task_id in held:
        wait_until(lambda: _waiting(service, task_id, "site_busy"))  # noqa: B023

    first_done = service.wait_for_status(running, "completed")
    done = [service.wait_for_status(task_id, "completed") for task_id in held]
    assert parse(first_done["finished_at"]) <= parse(done[0]["started_at"])
    assert parse(done[0]["finished_at"]) <= parse(done[1]["started_at"])
    assert [task["attempts"] for task in done] == [1, 1]


def test_the_web_app_says_why_a_task_waits(make_service: ServiceFactory, site: FixtureSite) -> None:
    """The queue's card of a task held back by its site's cool-down says so, with when it may
    start; the live page writes the same words (tests/web/test_browser.py)."""
    service = make_service(cooldown_seconds=60, retry_backoff_seconds=0.05)
    key = f"cooldown-{uuid.uuid4().hex}"
    limited = site.page_url(video=site.url("/media/clip.mp4")).replace(
        "/watch?", f"/flaky/{key}/1?status=429&"
    )
    task_id = service.download(limited)["id"]
    waiting = wait_until(lambda: _waiting(service, task_id, "rate_limited"))

    page = service.client.get("/")
    until = parse(waiting["waiting_until"])
    card = page.text[page.text.index(f'data-task-id="{task_id}"') :]
    assert (
        "Waiting: its site is cooling down after a rate limit, until "
        f"{until:%H:%M:%S} UTC" in card.split("</article>")[0]
    )
