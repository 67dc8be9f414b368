"""Subscription events through HTTP: on `GET /api/events?subscriptions=true` (and not on a
stream that did not ask for them), and as webhooks to a receiver on 127.0.0.1, chosen by
OFFLINETUBE_WEBHOOK_EVENTS."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse

from tests.api.routes.test_events import run, wait_for
from tests.fixtures.channel import ChannelVideo
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite
from tests.fixtures.webhook_receiver import WebhookReceiver

Events = list[ServerSentEvent]
SUBSCRIPTION_EVENTS = {
    "subscription.created",
    "subscription.updated",
    "subscription.deleted",
    "subscription.checked",
}


def _channel(site: FixtureSite, count: int) -> str:
    """A new channel of `count` videos, one a day; its name."""
    name = uuid.uuid4().hex
    now = datetime.now(UTC)
    site.channels[name] = [
        ChannelVideo(
            f"{name}-{n}",
            f"Clip {n}",
            site.page_url(video=site.url("/media/clip.mp4"), title=f"Clip {n} {name}"),
            now - timedelta(days=n),
        )
        for n in range(count)
    ]
    return name


def _body(event: ServerSentEvent) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(event.data)
    return parsed


def _names(events: Events) -> list[str]:
    return [event.event for event in events]


async def _read(client: httpx.AsyncClient, path: str, into: Events, opened: asyncio.Event) -> None:
    """Appends every named event of the stream to `into` until cancelled."""
    async with aconnect_sse(client, "GET", path) as source:
        opened.set()
        async for event in source.aiter_sse():
            if event.event != "message":  # pings, and the empty events httpx-sse makes of them
                into.append(event)


def test_a_check_shows_on_the_events_of_a_client_that_asks_with_its_task_ids(
    service: RunningService, site: FixtureSite
) -> None:
    channel = _channel(site, 2)
    wanting: Events = []
    plain: Events = []
    created: dict[str, Any] = {}

    def checked() -> ServerSentEvent | None:
        return next((e for e in wanting if e.event == "subscription.checked"), None)

    async def scenario(client: httpx.AsyncClient) -> None:
        opened = [asyncio.Event(), asyncio.Event()]
        readers = [
            asyncio.create_task(
                _read(client, "/api/events?subscriptions=true", wanting, opened[0])
            ),
            asyncio.create_task(_read(client, "/api/events", plain, opened[1])),
        ]
        await asyncio.gather(*(event.wait() for event in opened))
        body = {"url": site.channel_url(channel), "name": channel}
        response = await client.post("/api/subscriptions", json=body)
        assert response.status_code == 201, response.text
        created.update(response.json())
        await wait_for(checked, "subscription.checked on the stream that asked")
        check_id = int(next(e.id for e in wanting if e.event == "subscription.checked"))
        # The plain stream has had everything up to the check once it has a later event: the
        # tasks the check queued go on downloading.
        await wait_for(
            lambda: any(int(e.id) > check_id for e in plain if e.id), "a task event after it"
        )
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    run(scenario, service)

    event = checked()
    assert event is not None
    check = _body(event)
    current = service.client.get(f"/api/subscriptions/{created['id']}").json()
    assert check["id"] == created["id"]
    assert (check["last_found"], check["last_new"], check["last_queued"]) == (2, 2, 2)
    assert check["last_error"] is None
    assert sorted(check["last_task_ids"]) == sorted(current["last_task_ids"])
    for task_id in check["last_task_ids"]:
        assert service.task(task_id)["subscription_id"] == created["id"]
    subscription_events = [e for e in wanting if e.event in SUBSCRIPTION_EVENTS]
    assert _names(subscription_events) == ["subscription.created", "subscription.checked"]
    assert _body(subscription_events[0])["checks"] == 0
    # Queued by the check, before its record was saved: their ids come first.
    queued: dict[str, int] = {}
    for task_event in (e for e in wanting if e.event == "task"):
        queued.setdefault(_body(task_event)["id"], int(task_event.id))
    assert all(queued[task_id] < int(event.id) for task_id in check["last_task_ids"])
    assert set(_names(plain)) <= {"task", "removed"}
    assert {_body(e)["id"] for e in plain} >= set(check["last_task_ids"])


def test_pause_resume_and_delete_are_events_and_resuming_replays_them(
    service: RunningService, site: FixtureSite
) -> None:
    channel = _channel(site, 1)
    body = {"url": site.channel_url(channel), "name": channel, "back_catalogue": "none"}
    subscription = service.client.post("/api/subscriptions", json=body).json()
    path = f"/api/subscriptions/{subscription['id']}"
    wait_until(lambda: service.client.get(path).json()["checks"] == 1, what="the first check")

    def follow(last_event_id: str, until: int) -> Events:
        seen: Events = []

        async def scenario(client: httpx.AsyncClient) -> None:
            opened = asyncio.Event()
            query = f"/api/events?subscriptions=true&last_event_id={last_event_id}"
            reader = asyncio.create_task(_read(client, query, seen, opened))
            await wait_for(lambda: len(seen) >= until, f"{until} events")
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

        run(scenario, service)
        return seen

    # From the first event of all (the service is new): created and checked, then the changes.
    assert service.client.patch(path, json={"paused": True}).status_code == 200
    assert service.client.patch(path, json={"paused": False, "name": "Renamed"}).status_code == 200
    assert service.client.delete(path).status_code == 200
    events = follow("0", 5)

    assert _names(events) == [
        "subscription.created",
        "subscription.checked",
        "subscription.updated",
        "subscription.updated",
        "subscription.deleted",
    ]
    paused, resumed, deleted = (_body(event) for event in events[2:])
    assert (paused["paused"], resumed["paused"], resumed["name"]) == (True, False, "Renamed")
    assert deleted["id"] == subscription["id"]
    assert deleted["name"] == "Renamed"  # as it was when deleted
    # Resuming after the first two gets exactly the three that followed.
    again = follow(events[1].id, 3)
    assert [(e.id, e.event, e.data) for e in again] == [(e.id, e.event, e.data) for e in events[2:]]


def test_a_check_is_posted_to_the_webhook_as_the_events_setting_asks(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    receiver = WebhookReceiver().start()
    try:
        service = make_service(
            webhook_url=receiver.url, webhook_events="subscription.checked,task.completed"
        )
        channel = _channel(site, 2)
        body = {"url": site.channel_url(channel), "name": channel}
        subscription = service.client.post("/api/subscriptions", json=body).json()

        def received() -> list[tuple[str, dict[str, Any]]] | None:
            calls = [(c.headers["x-offlinetube-event"], json.loads(c.body)) for c in receiver.calls]
            completed = [call for call in calls if call[0] == "task.completed"]
            return calls if len(completed) == 2 else None

        calls = wait_until(received, what="the check and both downloads at the receiver")
    finally:
        receiver.stop()

    checks = [payload for name, payload in calls if name == "subscription.checked"]
    assert len(checks) == 1
    check = checks[0]
    assert check["event"] == "subscription.checked"
    assert check["subscription"]["id"] == subscription["id"]
    assert check["subscription"]["last_queued"] == 2
    completed = {payload["task"]["id"] for name, payload in calls if name == "task.completed"}
    assert set(check["subscription"]["last_task_ids"]) == completed
    # subscription.created was not asked for: settled unsent.
    assert {name for name, _ in calls} == {"subscription.checked", "task.completed"}
