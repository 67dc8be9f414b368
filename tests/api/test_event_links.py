"""Live progress in a browser while keys are required: an `EventSource` cannot send a key, so
task objects carry a signed `events_url` and GET /api/events/link hands out a signed link to
every task's stream. A revoked key's open streams are closed."""

import asyncio
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from offlinetube_api.security.keys import Scope
from offlinetube_api.security.signing import MediaSigner
from tests.api.routes.test_events import Events, data, read_stream, run, slow_page
from tests.api.test_auth import wait_for_auth
from tests.fixtures.keys import create_key, revoke_key, signing_secret_of
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite

Headers = dict[str, str]


@pytest.fixture
def locked(make_service: ServiceFactory) -> tuple[RunningService, dict[Scope, Headers]]:
    service = make_service()
    keys = {
        scope: {"Authorization": f"Bearer {create_key(service.settings, scope)}"} for scope in Scope
    }
    wait_for_auth(service)
    return service, keys


def _is_signed(url: str) -> bool:
    return set(parse_qs(urlsplit(url).query)) == {"exp", "sig"}


def test_a_download_is_followed_live_through_its_events_url_with_no_headers(
    locked: tuple[RunningService, dict[Scope, Headers]], site: FixtureSite
) -> None:
    service, keys = locked
    body = {"url": slow_page(site, 40_000), "force": True}
    task = service.client.post("/api/download", json=body, headers=keys[Scope.DOWNLOAD]).json()
    assert _is_signed(task["events_url"])
    assert urlsplit(task["events_url"]).path == f"/api/downloads/{task['id']}/events"
    events: Events = []

    async def scenario(client: httpx.AsyncClient) -> None:  # a client with no key at all
        response = await read_stream(client, task["events_url"], events)
        assert response.status_code == 200

    run(scenario, service)

    statuses = [data(event)["status"] for event in events]
    assert "downloading" in statuses and statuses[-1] == "completed", statuses
    finished = data(events[-1])
    assert _is_signed(finished["stream_url"]) and _is_signed(finished["events_url"])
    assert service.client.get(finished["stream_url"]).status_code == 200


def test_the_all_tasks_link_follows_new_downloads_with_no_headers(
    locked: tuple[RunningService, dict[Scope, Headers]], site: FixtureSite
) -> None:
    service, keys = locked
    assert service.client.get("/api/events/link").status_code == 401
    link = service.client.get("/api/events/link", headers=keys[Scope.READ]).json()["url"]
    assert urlsplit(link).path == "/api/events"
    key_id = keys[Scope.READ]["Authorization"].split("_")[1]
    assert parse_qs(urlsplit(link).query).keys() == {"exp", "kid", "sig"}
    assert parse_qs(urlsplit(link).query)["kid"] == [key_id]  # it dies with that key
    events: Events = []
    done: list[str] = []

    def completed(events: Events) -> bool:
        return any(data(event)["status"] == "completed" for event in events)

    async def scenario(client: httpx.AsyncClient) -> None:
        opened = asyncio.Event()
        reader = asyncio.create_task(
            read_stream(client, link, events, until=completed, opened=opened)
        )
        await opened.wait()
        body = {"url": site.page_url(video=site.url("/media/clip.mp4")), "force": True}
        posted = await client.post("/api/download", json=body, headers=keys[Scope.DOWNLOAD])
        done.append(posted.json()["id"])
        await reader

    run(scenario, service)

    assert {data(event)["id"] for event in events} == set(done)


def test_event_links_open_only_the_stream_they_were_made_for(
    locked: tuple[RunningService, dict[Scope, Headers]], site: FixtureSite
) -> None:
    service, keys = locked
    task = service.client.post(
        "/api/download", json={"url": site.url("/plain"), "force": True}, headers=keys[Scope.ADMIN]
    ).json()
    own = task["events_url"]
    other_task = own.replace(task["id"], "00000000-0000-4000-8000-000000000000")
    as_all_tasks = "/api/events?" + urlsplit(own).query
    secret = signing_secret_of(service.settings)
    expired = MediaSigner(secret, ttl_s=60).sign("/api/events", now=time.time() - 3600)

    for url in (other_task, as_all_tasks, own[:-2] + "xx", expired):
        response = service.client.get(url)
        assert response.status_code == 403, url
        assert response.json()["detail"].startswith("This signed link is not valid")


def test_an_open_service_hands_out_plain_event_urls(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download(site.url("/plain"))

    assert task["events_url"] == f"/api/downloads/{task['id']}/events"
    assert service.client.get("/api/events/link").json() == {"url": "/api/events"}


def test_a_revoked_keys_open_streams_are_closed_and_other_keys_streams_are_not(
    locked: tuple[RunningService, dict[Scope, Headers]], site: FixtureSite
) -> None:
    service, keys = locked
    revoked, kept = keys[Scope.READ], keys[Scope.ADMIN]
    slow = service.client.post(
        "/api/download", json={"url": slow_page(site, 4_000), "force": True}, headers=kept
    ).json()
    task_stream = urlsplit(slow["events_url"]).path
    streams: list[Events] = [[], [], []]
    probe: list[str] = []

    def saw_probe(events: Events) -> bool:
        return bool(probe) and data(events[-1])["id"] == probe[0]

    async def scenario(client: httpx.AsyncClient) -> None:
        opened = [asyncio.Event() for _ in streams]
        readers = [
            read_stream(client, "/api/events", streams[0], headers=revoked, opened=opened[0]),
            read_stream(client, task_stream, streams[1], headers=revoked, opened=opened[1]),
            read_stream(
                client, "/api/events", streams[2], headers=kept, opened=opened[2], until=saw_probe
            ),
        ]
        running = [asyncio.create_task(reader) for reader in readers]
        await asyncio.gather(*(event.wait() for event in opened))
        key_id = revoked["Authorization"].split("_")[1]
        await asyncio.to_thread(revoke_key, service.settings, key_id)
        revoked_at = time.monotonic()
        await asyncio.gather(*running[:2])  # ended by the service: run() fails after 60 s
        print(f"revoked key's streams closed after {time.monotonic() - revoked_at:.2f} s")
        body = {"url": site.url("/plain"), "force": True}
        probe.append((await client.post("/api/download", json=body, headers=kept)).json()["id"])
        await running[2]  # the other key's stream still delivers

    run(scenario, service)

    assert data(streams[1][-1])["status"] in ("queued", "downloading")  # cut short, not done


def test_a_stream_on_one_replica_ends_when_its_key_is_revoked_through_another(
    make_replica: ServiceFactory,
) -> None:
    revoking, streaming = make_replica(auth="on"), make_replica(auth="on")
    text = create_key(revoking.settings, Scope.READ)
    opened, ended = threading.Event(), threading.Event()

    def follow() -> None:
        headers = {"Authorization": f"Bearer {text}"}
        with httpx.stream(
            "GET", f"{streaming.base_url}/api/events", headers=headers, timeout=30
        ) as response:
            assert response.status_code == 200
            opened.set()
            for _ in response.iter_lines():
                pass
        ended.set()

    threading.Thread(target=follow, daemon=True).start()
    wait_until(opened.is_set, what="the stream to open")
    assert revoke_key(revoking.settings, text.split("_")[1])

    wait_until(ended.is_set, deadline_s=10, what="the stream on the other replica to end")


def test_a_signed_events_link_dies_with_the_key_that_asked_for_it(
    locked: tuple[RunningService, dict[Scope, Headers]],
) -> None:
    service, keys = locked
    revoked, kept = keys[Scope.READ], keys[Scope.ADMIN]
    doomed = service.client.get("/api/events/link", headers=revoked).json()["url"]
    other = service.client.get("/api/events/link", headers=kept).json()["url"]
    key_id = revoked["Authorization"].split("_")[1]
    events: Events = []
    closed_after: list[float] = []

    async def scenario(client: httpx.AsyncClient) -> None:
        opened = asyncio.Event()
        reader = asyncio.create_task(read_stream(client, doomed, events, opened=opened))
        await opened.wait()
        await asyncio.to_thread(revoke_key, service.settings, key_id)
        revoked_at = time.monotonic()
        await reader  # ended by the service: run() fails after 60 s
        closed_after.append(time.monotonic() - revoked_at)

    run(scenario, service)

    assert closed_after[0] < 3  # about 1.5 s: the key check's second, then the stream's poll
    refused = service.client.get(doomed)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This signed link's API key was revoked"
    with service.client.stream("GET", other) as still_open:  # another key's link opens
        assert still_open.status_code == 200
    kept_id = kept["Authorization"].split("_")[1]
    moved = doomed.replace(f"kid={key_id}", f"kid={kept_id}")  # onto a key still active
    assert moved != doomed
    assert (
        service.client.get(moved).json()["detail"] == "This signed link is not valid: bad signature"
    )
