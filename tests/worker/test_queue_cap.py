"""At most `max_queued` tasks wait; one more POST answers 503 with `Retry-After`."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite


def _one_downloading(
    make_service: ServiceFactory, site: FixtureSite, *, max_queued: int
) -> tuple[RunningService, str]:
    """A service with one download slot, taken by a slow download; the page of it."""
    service = make_service(max_queued=max_queued, max_concurrent_downloads=1)
    slow = site.page_url(video=site.url("/slow/20000/clip.mp4"))
    running = service.download(slow)
    service.wait_for_status(running["id"], "downloading")
    return service, slow


def test_download_beyond_max_queued_answers_503_with_retry_after(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service, slow = _one_downloading(make_service, site, max_queued=2)
    waiting = [service.download(slow) for _ in range(2)]

    response = service.client.post("/api/download", json={"url": slow, "force": True})

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert "queue is full" in response.json()["detail"]
    assert int(response.headers["retry-after"]) >= 1
    assert service.client.get("/api/health").json()["queue"]["queued"] == 2
    assert all(service.task(task["id"])["status"] == "queued" for task in waiting)


def test_duplicate_of_a_waiting_task_is_still_answered_when_the_queue_is_full(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(max_queued=1, max_concurrent_downloads=1)
    slow = site.page_url(video=site.url("/slow/20000/clip.mp4"))
    running = service.download(slow)
    service.wait_for_status(running["id"], "downloading")
    waiting = service.download(slow, title="waiting")

    response = service.client.post("/api/download", json={"url": slow})

    assert response.status_code == 200
    assert response.json()["id"] in {running["id"], waiting["id"]}


def test_retry_beyond_max_queued_answers_503_and_leaves_the_task_as_it_was(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(max_queued=1, max_concurrent_downloads=1)
    slow = site.page_url(video=site.url("/slow/20000/clip.mp4"))
    failed = service.download_and_wait(site.url("/plain"))
    running = service.download(slow)
    service.wait_for_status(running["id"], "downloading")
    service.download(slow)

    response = service.client.post(f"/api/downloads/{failed['id']}/retry")

    assert response.status_code == 503
    assert service.task(failed["id"])["status"] == "failed"


def test_forced_posts_at_once_never_queue_beyond_max_queued(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service, slow = _one_downloading(make_service, site, max_queued=2)

    def forced() -> httpx.Response:
        with httpx.Client(base_url=service.base_url, timeout=30) as client:
            return client.post("/api/download", json={"url": slow, "force": True})

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: forced(), range(12)))

    assert sorted(answer.status_code for answer in answers) == [202] * 2 + [503] * 10
    refused = [answer for answer in answers if answer.status_code == 503]
    assert all("queue is full" in answer.json()["detail"] for answer in refused)
    assert all(int(answer.headers["retry-after"]) >= 1 for answer in refused)
    assert service.client.get("/api/health").json()["queue"]["queued"] == 2
