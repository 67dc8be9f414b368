"""GET /api/downloads?subscription_id=: the tasks one subscription's checks queued, newest
first, counted, paged by cursor with the filter kept."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fixtures.channel import ChannelVideo
from tests.fixtures.service import RunningService, wait_until
from tests.fixtures.site import FixtureSite


def _followed_channel(service: RunningService, site: FixtureSite, count: int) -> dict[str, Any]:
    """A subscription of a new channel of `count` videos, once its first check is made."""
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
    body = {"url": site.channel_url(name), "name": name}
    created = service.client.post("/api/subscriptions", json=body).json()
    path = f"/api/subscriptions/{created['id']}"

    def checked() -> dict[str, Any] | None:
        current: dict[str, Any] = service.client.get(path).json()
        return current if current["checks"] >= 1 else None

    result: dict[str, Any] = wait_until(checked, what=f"the first check of {name}")
    return result


def test_the_listing_keeps_to_one_subscription_newest_first(
    service: RunningService, site: FixtureSite
) -> None:
    other = service.download(site.page_url(video=site.url("/media/clip.webm")))
    followed = _followed_channel(service, site, 3)
    queued = followed["last_task_ids"]  # oldest first, as they were queued
    for task_id in [other["id"], *queued]:
        service.wait_for_status(task_id, "completed")
    params = {"subscription_id": followed["id"]}

    everything = service.client.get("/api/downloads", params=params)
    first = service.client.get("/api/downloads", params={**params, "limit": 2})
    following = service.client.get(first.links["next"]["url"])
    done = service.client.get("/api/downloads", params={**params, "status": "completed"})
    unknown = service.client.get("/api/downloads", params={"subscription_id": str(uuid.uuid4())})
    malformed = service.client.get("/api/downloads", params={"subscription_id": "x"})

    assert [task["id"] for task in everything.json()] == queued[::-1]
    assert everything.headers["x-total-count"] == "3"
    assert {task["subscription_id"] for task in everything.json()} == {followed["id"]}
    assert [task["id"] for task in first.json() + following.json()] == queued[::-1]
    assert following.headers["x-total-count"] == "3" and "next" not in following.links
    assert (len(done.json()), done.headers["x-total-count"]) == (3, "3")
    assert (unknown.json(), unknown.headers["x-total-count"]) == ([], "0")
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["query", "subscription_id"]
