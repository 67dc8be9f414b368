"""Cancel at once, retry by hand, and automatic retries of transient failures."""

import os
import time
import uuid

from tests.fixtures.processes import download_processes
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite


def test_cancel_running_download_stops_it_at_once(
    service: RunningService, site: FixtureSite
) -> None:
    """At once: a small part of what the download still needed (about 10 s). Within a second
    on an idle machine; the margin is for a loaded one."""
    before = download_processes()
    task = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")))
    wait_until(
        lambda: (service.task(task["id"])["downloaded_bytes"] or 0) > 0, what="bytes to flow"
    )
    running = download_processes() - before
    assert running, "the download should run in its own process"

    started = time.monotonic()
    response = service.client.post(f"/api/downloads/{task['id']}/cancel")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["error_kind"] == "cancelled"
    assert elapsed < site.pacing_seconds("clip.mp4", 20000) / 4
    assert not (download_processes() & running), "the process group must be gone"
    partial = service.settings.downloads_dir / ".incomplete" / task["id"]
    assert not partial.exists()
    assert list(service.settings.downloads_dir.glob(f"video__{task['id']}*")) == []


def test_cancel_queued_task_takes_it_off_the_queue(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(max_concurrent_downloads=1)
    blocker = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")))
    waiting = service.download(site.page_url(video=site.url("/media/clip.mp4")))
    service.wait_for_status(blocker["id"], "downloading")

    response = service.client.post(f"/api/downloads/{waiting['id']}/cancel")

    assert response.json()["status"] == "cancelled"
    assert service.client.get("/api/health").json()["queue"]["queued"] == 0
    service.client.post(f"/api/downloads/{blocker['id']}/cancel")
    assert service.task(waiting["id"])["started_at"] is None


def test_cancel_finished_task_answers_409(service: RunningService, site: FixtureSite) -> None:
    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))

    response = service.client.post(f"/api/downloads/{task['id']}/cancel")

    assert response.status_code == 409
    assert "completed" in response.json()["detail"]


def test_retry_puts_a_cancelled_task_back_under_the_same_id(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")))
    service.wait_for_status(task["id"], "downloading")
    service.client.post(f"/api/downloads/{task['id']}/cancel")

    response = service.client.post(f"/api/downloads/{task['id']}/retry")

    assert response.status_code == 202
    assert response.json()["id"] == task["id"]
    assert response.json()["status"] in ("queued", "downloading")
    service.client.post(f"/api/downloads/{task['id']}/cancel")


def test_retry_of_running_or_completed_task_answers_409(
    service: RunningService, site: FixtureSite
) -> None:
    done = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))

    assert service.client.post(f"/api/downloads/{done['id']}/retry").status_code == 409
    assert service.client.post(f"/api/downloads/{os.urandom(4).hex()}/retry").status_code == 404


def test_transient_failures_are_retried_with_backoff_until_success(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(retry_backoff_seconds=0.2)
    page = site.page_url(video=site.url("/media/clip.mp4"))
    key = f"three-tries-{uuid.uuid4().hex}"  # the site counts hits per key for its whole run
    flaky = page.replace("/watch?", f"/flaky/{key}/2?")

    task = service.download_and_wait(flaky)

    assert task["status"] == "completed", task["error"]
    assert task["attempts"] == 3
    assert site.flaky_hits[key] == 3


def test_rate_limited_then_exhausted_retries_end_failed(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(retry_backoff_seconds=0.05, max_retries=2)
    page = site.page_url(video=site.url("/media/clip.mp4"))
    flaky = page.replace("/watch?", "/flaky/always-429/100?status=429&")

    task = service.download_and_wait(flaky)

    assert (task["status"], task["error_kind"], task["attempts"]) == ("failed", "rate_limited", 3)
    assert "429" in task["error"]


def test_permanent_failure_is_not_retried(make_service: ServiceFactory, site: FixtureSite) -> None:
    service = make_service(retry_backoff_seconds=0.05)

    task = service.download_and_wait(site.url("/no-such-page"))

    assert (task["status"], task["error_kind"], task["attempts"]) == ("failed", "not_found", 1)
    unsupported = service.download_and_wait(site.url("/plain"))
    assert (unsupported["error_kind"], unsupported["attempts"]) == ("unsupported", 1)
