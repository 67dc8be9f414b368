"""POSTs of one URL at the same moment, on one service or on two replicas of one installation:
the database decides, so exactly one task is made; one answer is 202 and every other is 200
with that task."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

POSTS = 8


def _post_at_once(services: list[RunningService], body: dict[str, Any]) -> list[httpx.Response]:
    """`POSTS` POSTs of `body`, spread over `services` in turn, each on a connection of its own
    and all released together by a barrier."""
    barrier = threading.Barrier(POSTS)

    def post(index: int) -> httpx.Response:
        service = services[index % len(services)]
        with httpx.Client(base_url=service.base_url, timeout=30) as client:
            client.get("/api/health")  # the connection is open before the race starts
            barrier.wait(timeout=30)
            return client.post("/api/download", json=body)

    with ThreadPoolExecutor(max_workers=POSTS) as pool:
        return list(pool.map(post, range(POSTS)))


def _one_task_for_all(responses: list[httpx.Response]) -> str:
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * (POSTS - 1) + [202], [r.text for r in responses]
    ids = {response.json()["id"] for response in responses}
    assert len(ids) == 1, ids
    (task_id,) = ids
    assert {response.headers["location"] for response in responses} == {f"/api/downloads/{task_id}"}
    return task_id


def _page(site: FixtureSite) -> str:
    return site.page_url(video=site.url(f"/media/clip.mp4?copy={uuid.uuid4()}"))


def test_posts_of_one_url_at_once_make_one_task(service: RunningService, site: FixtureSite) -> None:
    responses = _post_at_once([service], {"url": _page(site)})

    task_id = _one_task_for_all(responses)
    listing = service.client.get("/api/downloads")
    assert listing.headers["x-total-count"] == "1"
    assert [task["id"] for task in listing.json()] == [task_id]
    assert service.wait_for_status(task_id, "completed", "failed")["status"] == "completed"


def test_posts_of_a_url_whose_file_was_deleted_queue_it_once(
    service: RunningService, site: FixtureSite
) -> None:
    url = _page(site)
    done = service.client.post("/api/download", json={"url": url}).json()
    task = service.wait_for_status(done["id"], "completed", "failed")
    assert task["status"] == "completed", task["error"]
    (Path(service.settings.downloads_dir) / task["filename"]).unlink()

    responses = _post_at_once([service], {"url": url})

    assert _one_task_for_all(responses) == task["id"]
    again = service.wait_for_status(task["id"], "completed", "failed")
    assert again["status"] == "completed", again["error"]
    assert again["attempts"] == 1
    assert service.client.get("/api/downloads").headers["x-total-count"] == "1"


def test_two_replicas_posting_one_url_at_once_make_one_task(
    make_replica: ServiceFactory, site: FixtureSite
) -> None:
    replicas = [make_replica(), make_replica()]

    responses = _post_at_once(replicas, {"url": _page(site), "audio_only": True})

    task_id = _one_task_for_all(responses)
    for replica in replicas:
        listing = replica.client.get("/api/downloads")
        assert listing.headers["x-total-count"] == "1"
        assert [task["id"] for task in listing.json()] == [task_id]
    assert replicas[1].wait_for_status(task_id, "completed", "failed")["status"] == "completed"
