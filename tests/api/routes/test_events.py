"""Server-Sent Events, read through real HTTP while real downloads run against the fixture site.

The streams are read with httpx's async client, so a test can listen and act at once and every
connection is closed when its test ends, failed or not."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse

from tests.fixtures.service import RunningService, wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite

TIMEOUT = httpx.Timeout(10, read=30)
DEADLINE_S = 60
LIFE_CYCLE = ["queued", "downloading", "processing", "completed"]
Events = list[ServerSentEvent]


def slow_page(site: FixtureSite, bytes_per_second: int, title: str = "Slow clip") -> str:
    return site.page_url(video=site.url(f"/slow/{bytes_per_second}/clip.mp4"), title=title)


def data(event: ServerSentEvent) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(event.data)
    return parsed


async def read_stream(
    client: httpx.AsyncClient,
    path: str,
    into: Events,
    *,
    until: Callable[[Events], bool] = lambda _: False,
    opened: asyncio.Event | None = None,
    **request: Any,
) -> httpx.Response:
    """Appends the stream's events to `into` until it ends or `until(into)` holds. Pings, and
    the empty events httpx-sse makes of them once an id was seen, are left out."""
    async with aconnect_sse(client, "GET", path, **request) as source:
        if opened:
            opened.set()
        if source.response.status_code == 200:
            async for event in source.aiter_sse():
                if event.event in ("task", "removed"):
                    into.append(event)
                    if until(into):
                        break
        return source.response


def run(scenario: Callable[[httpx.AsyncClient], Awaitable[None]], service: RunningService) -> None:
    async def main() -> None:
        async with (
            asyncio.timeout(DEADLINE_S),
            httpx.AsyncClient(base_url=service.base_url, timeout=TIMEOUT) as client,
        ):
            await scenario(client)

    asyncio.run(main())


async def wait_for(condition: Callable[[], Any], what: str) -> None:
    """`wait_until` on a thread, so the streams keep being read meanwhile."""
    await asyncio.to_thread(wait_until, condition, deadline_s=DEADLINE_S, what=what)


def ids(events: Events) -> list[int]:
    return [int(event.id) for event in events]


def test_task_stream_follows_a_download_to_completed_and_ends(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download(slow_page(site, 40_000))
    events: Events = []

    async def scenario(client: httpx.AsyncClient) -> None:
        response = await read_stream(client, f"/api/downloads/{task['id']}/events", events)
        assert response.headers["content-type"].startswith("text/event-stream")

    run(scenario, service)

    tasks = [data(event) for event in events]
    statuses = [task["status"] for task in tasks]
    assert {event.event for event in events} == {"task"}
    assert statuses[0] in ("queued", "downloading")
    assert statuses[-1] == "completed" and statuses.count("completed") == 1
    assert [LIFE_CYCLE.index(status) for status in statuses] == sorted(
        LIFE_CYCLE.index(status) for status in statuses
    )
    progress = [task["progress"] for task in tasks]
    assert progress == sorted(progress)
    assert len({value for value in progress if 0 < value < 100}) >= 2, progress
    assert ids(events) == sorted(set(ids(events)))
    assert tasks[-1] == service.task(task["id"])


def test_reconnecting_with_last_event_id_misses_nothing_and_repeats_nothing(
    make_service: Callable[..., RunningService], site: FixtureSite
) -> None:
    service = make_service(max_concurrent_downloads=1)
    blocker = service.download(slow_page(site, 2_000, title="Blocker"))
    task = service.download(slow_page(site, 40_000))
    path = f"/api/downloads/{task['id']}/events"
    whole: Events = []
    first_part: Events = []
    second_part: Events = []

    async def scenario(client: httpx.AsyncClient) -> None:
        whole_reader = asyncio.create_task(read_stream(client, path, whole))
        first_reader = asyncio.create_task(
            read_stream(client, path, first_part, until=lambda events: len(events) == 2)
        )
        # Both start while the task waits behind the blocker, so both start from the same event.
        await wait_for(lambda: whole and first_part, "both clients' first event")
        removed = await client.delete(f"/api/downloads/{blocker['id']}/remove")
        assert removed.status_code == 200
        await first_reader
        await wait_for(lambda: len(whole) >= 4, "events the second client misses")
        headers = {"Last-Event-ID": first_part[-1].id}
        await read_stream(client, path, second_part, headers=headers)
        await whole_reader

    run(scenario, service)

    assert data(first_part[0])["status"] == "queued"
    assert data(whole[-1])["status"] == "completed"
    assert ids(first_part + second_part) == ids(whole)
    assert [event.data for event in first_part + second_part] == [event.data for event in whole]


def test_all_events_stream_sees_every_task(service: RunningService, site: FixtureSite) -> None:
    pages = [site.page_url(video=site.url("/media/clip.mp4"), title=f"Clip {n}") for n in (1, 2)]
    events: Events = []

    def both_completed(events: Events) -> bool:
        done = {data(event)["id"] for event in events if data(event)["status"] == "completed"}
        return len(done) == 2

    async def scenario(client: httpx.AsyncClient) -> None:
        opened = asyncio.Event()
        reader = asyncio.create_task(
            read_stream(client, "/api/events", events, until=both_completed, opened=opened)
        )
        await opened.wait()
        for page in pages:
            assert (await client.post("/api/download", json={"url": page})).status_code == 202
        await reader

    run(scenario, service)

    by_task: dict[str, list[str]] = {}
    for event in events:
        by_task.setdefault(data(event)["id"], []).append(data(event)["status"])
    assert len(by_task) == 2
    for statuses in by_task.values():
        assert statuses[-1] == "completed"
    assert ids(events) == sorted(set(ids(events)))


def test_all_events_with_a_lost_id_starts_with_a_snapshot(
    service: RunningService, site: FixtureSite
) -> None:
    running = service.download(slow_page(site, 4_000))
    service.wait_for_status(running["id"], "downloading")
    events: Events = []

    async def scenario(client: httpx.AsyncClient) -> None:
        await read_stream(
            client, "/api/events", events, until=bool, params={"last_event_id": "12345"}
        )

    run(scenario, service)

    assert [(event.event, data(event)["id"]) for event in events] == [("task", running["id"])]
    # The service has saved far fewer events: 12345 is an id from the future, as lost as one
    # pruned long ago; the snapshot carries the newest id instead.
    assert int(events[0].id) < 12345


def test_unknown_task_stream_is_404(service: RunningService) -> None:
    response = service.client.get("/api/downloads/no-such-task/events")

    assert response.status_code == 404
    assert response.json() == {"detail": "Task 'no-such-task' not found"}


def test_completed_task_stream_is_one_snapshot_then_resuming_is_204(
    service: RunningService, site: FixtureSite
) -> None:
    done = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    path = f"/api/downloads/{done['id']}/events"
    events: Events = []

    async def scenario(client: httpx.AsyncClient) -> None:
        await read_stream(client, path, events)
        last = events[-1].id
        by_header = await read_stream(client, path, [], headers={"Last-Event-ID": last})
        by_query = await read_stream(client, path, [], params={"last_event_id": last})
        # 204 is what stops a browser EventSource from reconnecting for ever.
        assert (by_header.status_code, by_query.status_code) == (204, 204)

    run(scenario, service)

    assert [(event.event, data(event)) for event in events] == [("task", done)]


def test_removing_a_waiting_task_ends_its_stream_with_removed(
    make_service: Callable[..., RunningService], site: FixtureSite
) -> None:
    service = make_service(max_concurrent_downloads=1)
    service.download(slow_page(site, 2_000, title="Blocker"))
    task = service.download(slow_page(site, 40_000))
    events: Events = []

    async def scenario(client: httpx.AsyncClient) -> None:
        path = f"/api/downloads/{task['id']}/events"
        reader = asyncio.create_task(read_stream(client, path, events))
        await wait_for(lambda: events, "the task's state")
        removed = await client.delete(f"/api/downloads/{task['id']}/remove")
        assert removed.status_code == 200
        await reader

    run(scenario, service)

    assert [(event.event, data(event)["status"]) for event in events[:1]] == [("task", "queued")]
    assert [(event.event, data(event)) for event in events[1:]] == [("removed", {"id": task["id"]})]


def test_removing_a_running_task_ends_its_stream(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download(slow_page(site, 20_000))
    own: Events = []
    every: Events = []

    def removed(events: Events) -> bool:
        return events[-1].event == "removed"

    async def scenario(client: httpx.AsyncClient) -> None:
        path = f"/api/downloads/{task['id']}/events"
        own_reader = asyncio.create_task(read_stream(client, path, own))
        every_reader = asyncio.create_task(read_stream(client, "/api/events", every, until=removed))
        await wait_for(lambda: own and data(own[-1])["status"] == "downloading", "a download")
        assert (await client.delete(f"/api/downloads/{task['id']}/remove")).status_code == 200
        await asyncio.gather(own_reader, every_reader)

    run(scenario, service)

    # A removal stops the task without a `cancelled` state: its stream ends with `removed`.
    assert own[-1].event == "removed"
    assert all(data(event).get("status") != "cancelled" for event in own[:-1])
    assert [event.event for event in every].count("removed") == 1
    assert (every[-1].event, data(every[-1])) == ("removed", {"id": task["id"]})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# uvicorn waits this long for open streams before it cuts them off.
GRACEFUL_SHUTDOWN_S = 30


def test_service_stops_promptly_on_sigterm_with_a_client_on_all_events(tmp_path: Path) -> None:
    """The real entry point under a real signal: sse-starlette ends the endless stream."""
    port = _free_port()
    env = os.environ | {
        "OFFLINETUBE_PORT": str(port),
        "OFFLINETUBE_DOWNLOADS_DIR": str(tmp_path / "downloads"),
        "OFFLINETUBE_THUMBNAILS_DIR": str(tmp_path / "thumbnails"),
        "OFFLINETUBE_DATA_DIR": str(tmp_path / "data"),
        "OFFLINETUBE_LOG_LEVEL": "warning",
        "OFFLINETUBE_SHUTDOWN_TIMEOUT": str(GRACEFUL_SHUTDOWN_S),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "offlinetube_api"], cwd=tmp_path, env=env, stderr=subprocess.PIPE
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT) as client:

            def healthy() -> bool:
                try:
                    return client.get("/api/health").is_success
                except httpx.TransportError:
                    return server.poll() is not None  # ends the wait; asserted below

            wait_until(healthy, what="the service to start")
            assert server.poll() is None
            with connect_sse(client, "GET", "/api/events") as source:
                assert source.response.status_code == 200
                asked = time.monotonic()
                server.send_signal(signal.SIGTERM)
                # Completed, not cut off: a cut-off chunked body would raise here.
                assert [event.event for event in source.iter_sse()] == []
                exit_code = server.wait(timeout=15)
        took = time.monotonic() - asked
    finally:
        if server.poll() is None:
            server.kill()
        _, errors = server.communicate(timeout=15)
    # After a clean shutdown uvicorn raises the signal again, with the default handler.
    assert exit_code == -signal.SIGTERM, errors
    assert took < GRACEFUL_SHUTDOWN_S / 3, errors  # the stream ended; uvicorn did not give up on it
    assert b"Traceback" not in errors and b"ERROR" not in errors, errors.decode()


def test_events_outlive_a_restart_resuming_gets_exactly_what_was_missed(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    """Events are saved with the changes they describe: after a restart, a client that
    resumes from an id in the middle gets the rest of them, id for id, not a snapshot."""
    client = service_process.start()
    page = site.page_url(video=site.url("/media/clip.mp4"), title="Kept events")
    posted = client.post("/api/download", json={"url": page})
    task_id = posted.json()["id"]
    wait_until(
        lambda: client.get(f"/api/downloads/{task_id}").json()["status"] == "completed",
        deadline_s=DEADLINE_S,
        what="the download to complete",
    )
    path = f"/api/downloads/{task_id}/events"

    def read_all(**request: Any) -> list[tuple[str, str]]:
        with (
            httpx.Client(base_url=service_process.base_url, timeout=TIMEOUT) as reader,
            connect_sse(reader, "GET", path, **request) as source,
        ):
            return [(event.id, event.data) for event in source.iter_sse() if event.event == "task"]

    before = read_all(params={"last_event_id": "0"})
    assert [json.loads(data)["status"] for _, data in before][-1] == "completed"
    assert len(before) >= 4  # queued, started, ..., completed

    assert service_process.terminate() == -signal.SIGTERM  # a clean stop, re-raised
    service_process.start()
    after = read_all(headers={"Last-Event-ID": before[1][0]})

    assert after == before[2:]
