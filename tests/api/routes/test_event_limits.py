"""What an event stream costs the service: opening one reads the unfinished tasks, never the
whole library, and open streams are capped per client address and in all."""

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.store import open_store
from tests.api.routes.test_events import TIMEOUT, data, slow_page
from tests.fixtures.service import POLL_INTERVAL_S, RunningService
from tests.fixtures.site import FixtureSite

LIBRARY_SIZE = 2_000
DEADLINE_S = 60


def fill_library(service: RunningService, count: int) -> None:
    """`count` finished tasks, written to the service's database as earlier runs left them."""

    async def add_all() -> None:
        store = open_store(service.settings, announce=lambda: None)
        await store.open()
        try:
            for n in range(count):
                status = TaskStatus.COMPLETED if n % 10 else TaskStatus.FAILED
                await store.add(
                    Task(
                        id=str(uuid.uuid4()),
                        url=f"https://example.com/watch?v={n}",
                        format=None,
                        status=status,
                        created_at=datetime.now(UTC),
                        title=f"Old video {n}",
                    )
                )
        finally:
            await store.close()

    asyncio.run(add_all())


async def opening(client: httpx.AsyncClient, **request: Any) -> list[ServerSentEvent]:
    """The events a new `/api/events` stream sends first: its snapshot ends with the first
    event that carries an id."""
    events: list[ServerSentEvent] = []
    async with aconnect_sse(client, "GET", "/api/events", **request) as source:
        assert source.response.status_code == 200
        async for event in source.aiter_sse():
            if event.event == "task":
                events.append(event)
                if event.id:
                    return events
    raise AssertionError("the stream ended before its snapshot")


def test_new_all_events_stream_sends_only_unfinished_tasks(
    make_service: Callable[..., RunningService], site: FixtureSite
) -> None:
    service = make_service(max_concurrent_downloads=1)
    fill_library(service, LIBRARY_SIZE)
    running = service.download(slow_page(site, 4_000, title="Running"))
    waiting = service.download(slow_page(site, 4_000, title="Waiting"))
    service.wait_for_status(running["id"], "downloading")

    async def scenario() -> tuple[list[ServerSentEvent], list[ServerSentEvent]]:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=TIMEOUT) as client:
            fresh = await opening(client)
            lost = await opening(client, headers={"Last-Event-ID": "12345"})
            return fresh, lost

    fresh, lost = asyncio.run(asyncio.wait_for(scenario(), DEADLINE_S))

    for snapshot in (fresh, lost):
        assert {data(event)["id"]: data(event)["status"] for event in snapshot} == {
            running["id"]: "downloading",
            waiting["id"]: "queued",
        }
    listing = service.client.get("/api/downloads", params={"limit": 1})
    assert listing.headers["x-total-count"] == str(LIBRARY_SIZE + 2)


def _client(service: RunningService, address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=service.base_url, timeout=TIMEOUT, transport=transport)


async def _status_of_new_stream(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """Opens a stream and closes it again at once; its answer, body read when it is an error."""
    async with client.stream("GET", path) as response:
        if response.status_code != 200:
            await response.aread()
        return response


def test_event_streams_are_capped_per_address_and_in_all(
    make_service: Callable[..., RunningService], site: FixtureSite
) -> None:
    service = make_service(max_event_streams_per_client=2, max_event_streams=3)
    task = service.download(slow_page(site, 4_000, title="Followed"))
    task_path = f"/api/downloads/{task['id']}/events"

    async def scenario() -> dict[str, httpx.Response]:
        answers: dict[str, httpx.Response] = {}
        async with (
            _client(service, "127.0.0.1") as first,
            _client(service, "127.0.0.2") as second,
            _client(service, "127.0.0.3") as third,
        ):
            # Both routes count: one stream of every task and one of a task, from one address.
            async with first.stream("GET", "/api/events") as every, first.stream("GET", task_path):
                answers["third from one address"] = await _status_of_new_stream(first, task_path)
                async with second.stream("GET", "/api/events") as other:
                    answers["other address"] = other
                    answers["beyond the total"] = await _status_of_new_stream(third, "/api/events")
                answers["first"] = every
            answers["after one closed"] = await _admitted(first, "/api/events")
        return answers

    answers = asyncio.run(asyncio.wait_for(scenario(), DEADLINE_S))

    assert answers["first"].status_code == 200
    assert answers["other address"].status_code == 200
    for refused in ("third from one address", "beyond the total"):
        response = answers[refused]
        assert response.status_code == 503, refused
        assert response.headers["retry-after"] == "30"
        assert "event streams open" in response.json()["detail"]
    assert answers["after one closed"].status_code == 200
    assert service.client.get("/api/health").status_code == 200


async def _admitted(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """The first answer that is not a refusal: the server gives a place back once it notices
    that a stream was closed."""
    give_up = time.monotonic() + DEADLINE_S / 2
    while True:
        response = await _status_of_new_stream(client, path)
        if response.status_code != 503 or time.monotonic() > give_up:
            return response
        await asyncio.sleep(POLL_INTERVAL_S)
