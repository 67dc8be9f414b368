import asyncio
import hashlib
import hmac
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.webhooks import WebhookNotifier
from tests.fixtures.service import RunningService, wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite
from tests.fixtures.webhook_receiver import ReceivedCall, WebhookReceiver

SECRET = "s3cret"
ReceiverFactory = Callable[..., WebhookReceiver]


@pytest.fixture
def make_receiver() -> Iterator[ReceiverFactory]:
    started: list[WebhookReceiver] = []

    def factory(**options: Any) -> WebhookReceiver:
        receiver = WebhookReceiver(**options).start()
        started.append(receiver)
        return receiver

    yield factory
    for receiver in started:
        receiver.stop()


def clip(site: FixtureSite) -> str:
    return site.page_url(video=site.url("/media/clip.mp4"))


def payload(call: ReceivedCall) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(call.body)
    return body


def signature_verifies(call: ReceivedCall, secret: str) -> bool:
    """What a receiver does: HMAC the raw body bytes, compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), call.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, call.headers.get("x-offlinetube-signature", ""))


def notifier_of(service: RunningService) -> WebhookNotifier | None:
    """The notifier the service built, if any."""
    app = service.server.config.app
    assert isinstance(app, FastAPI)
    notifier: WebhookNotifier | None = app.state.webhooks
    return notifier


def delivered(service: RunningService) -> bool:
    """True once the service's notifier has nothing queued or in flight."""
    notifier = notifier_of(service)
    return notifier is not None and notifier.pending == 0


def test_completed_download_is_posted_signed_and_retried_after_a_500(
    make_service: Callable[..., RunningService],
    make_receiver: ReceiverFactory,
    site: FixtureSite,
) -> None:
    receiver = make_receiver(fail_first=1)
    service = make_service(webhook_url=receiver.url, webhook_secret=SECRET)

    task = service.download_and_wait(clip(site))
    assert task["status"] == "completed", task["error"]
    wait_until(lambda: len(receiver.calls) >= 2 and delivered(service), what="the retry")

    failed, retried = receiver.calls
    assert (failed.answered, retried.answered) == (500, 204)
    assert failed.body == retried.body, "a retry must send the same bytes"
    assert failed.headers["x-offlinetube-delivery"] == retried.headers["x-offlinetube-delivery"]
    assert retried.headers["content-type"] == "application/json"
    assert retried.headers["x-offlinetube-event"] == "task.completed"
    assert signature_verifies(retried, SECRET)
    assert not signature_verifies(retried, "another secret")
    body = payload(retried)
    assert body["event"] == "task.completed"
    assert body["task"] == task
    assert datetime.fromisoformat(body["sent_at"]).tzinfo is not None


def test_failed_download_posts_task_failed_with_its_error(
    make_service: Callable[..., RunningService],
    make_receiver: ReceiverFactory,
    site: FixtureSite,
) -> None:
    receiver = make_receiver()
    service = make_service(webhook_url=receiver.url, webhook_secret=SECRET)

    task = service.download_and_wait(site.url("/plain"))
    assert task["status"] == "failed"
    wait_until(lambda: receiver.calls and delivered(service), what="the webhook")

    [call] = receiver.calls
    assert call.headers["x-offlinetube-event"] == "task.failed"
    assert signature_verifies(call, SECRET)
    body = payload(call)
    assert (body["event"], body["task"]["id"], body["task"]["status"]) == (
        "task.failed",
        task["id"],
        "failed",
    )
    assert "Unsupported URL" in body["task"]["error"]


def test_cancelling_a_running_download_posts_task_cancelled(
    make_service: Callable[..., RunningService],
    make_receiver: ReceiverFactory,
    site: FixtureSite,
) -> None:
    receiver = make_receiver()
    service = make_service(webhook_url=receiver.url)
    task_id = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")))["id"]
    service.wait_for_status(task_id, "downloading")

    assert service.client.post(f"/api/downloads/{task_id}/cancel").status_code == 200
    wait_until(lambda: receiver.calls and delivered(service), what="the webhook")

    [call] = receiver.calls
    body = payload(call)
    assert (body["event"], body["task"]["id"], body["task"]["status"]) == (
        "task.cancelled",
        task_id,
        "cancelled",
    )
    assert "x-offlinetube-signature" not in call.headers, "no secret, no signature"


def test_no_webhook_is_sent_when_no_url_is_configured(
    make_service: Callable[..., RunningService],
    make_receiver: ReceiverFactory,
    site: FixtureSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OFFLINETUBE_WEBHOOK_URL", raising=False)
    receiver = make_receiver()
    # Positive control: a configured service does reach this receiver, and its notifier drains.
    configured = make_service(webhook_url=receiver.url)
    control = configured.download_and_wait(clip(site))
    wait_until(lambda: receiver.calls and delivered(configured), what="the control webhook")

    unconfigured = make_service()
    assert unconfigured.settings.webhook_url is None
    task = unconfigured.download_and_wait(clip(site))

    assert task["status"] == "completed"
    # No notifier means the final state had nowhere to go: nothing is pending, so no wait.
    assert notifier_of(unconfigured) is None
    assert [payload(call)["task"]["id"] for call in receiver.calls] == [control["id"]]


def test_hanging_receiver_does_not_hold_up_the_download_queue(
    make_service: Callable[..., RunningService],
    make_receiver: ReceiverFactory,
    site: FixtureSite,
) -> None:
    receiver = make_receiver(hold=True)
    service = make_service(webhook_url=receiver.url, max_concurrent_downloads=1)

    ids = [service.download(clip(site))["id"] for _ in range(3)]
    for task_id in ids:
        assert service.wait_for_status(task_id, "completed", "failed")["status"] == "completed"
    # At least: on a loaded machine a held POST can reach its timeout and be sent again.
    wait_until(lambda: len(receiver.calls) >= 3, what="three deliveries to be under way")

    # Every delivery is still waiting for its answer, and the queue went on all the same.
    assert all(call.answered == 0 for call in receiver.calls)
    receiver.release()
    wait_until(lambda: delivered(service), what="the held deliveries to finish")
    assert {payload(call)["task"]["id"] for call in receiver.calls} == set(ids)


# -- crashes and replicas ----------------------------------------------------------------------


def test_a_delivery_cut_short_by_kill_9_is_sent_again_after_the_restart(
    tmp_path: Path, make_receiver: ReceiverFactory, site: FixtureSite
) -> None:
    """The final state is saved, its POST is under way and unanswered, and the service is
    killed: the notification was never marked delivered, so the next start sends it."""
    receiver = make_receiver(hold=True)
    service = ServiceProcess(tmp_path, allow_private_urls="true", webhook_url=receiver.url)
    try:
        service.start()
        task_id = service.client.post("/api/download", json={"url": clip(site)}).json()["id"]
        wait_until(lambda: receiver.calls, what="the delivery to be under way")
        assert service.client.get(f"/api/downloads/{task_id}").json()["status"] == "completed"
        service.kill()
        receiver.release()
        service.start()
        wait_until(lambda: len(receiver.calls) == 2, what="the delivery after the restart")
    finally:
        service.stop()

    cut_short, sent = receiver.calls
    assert sent.headers["x-offlinetube-delivery"] == cut_short.headers["x-offlinetube-delivery"]
    assert (payload(sent)["event"], payload(sent)["task"]["id"]) == ("task.completed", task_id)


def unsent(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM webhook_outbox").fetchone()
    assert row is not None
    count: int = row[0]
    return count


def test_replicas_send_each_final_state_once(
    make_replica: Callable[..., RunningService],
    make_receiver: ReceiverFactory,
    site: FixtureSite,
    postgres_url: str,
) -> None:
    receiver = make_receiver()
    replicas = [make_replica(webhook_url=receiver.url) for _ in range(2)]

    ids = [replicas[n % 2].download(clip(site))["id"] for n in range(4)]
    for task_id in ids:
        assert replicas[0].wait_for_status(task_id, "completed", "failed")["status"] == "completed"
    wait_until(lambda: len(receiver.calls) >= 4 and unsent(postgres_url) == 0, what="4 webhooks")

    # Nothing is left to send, so no other call can come.
    assert sorted(payload(call)["task"]["id"] for call in receiver.calls) == sorted(ids)
    assert len({call.headers["x-offlinetube-delivery"] for call in receiver.calls}) == 4


def test_a_delivery_held_by_a_replica_killed_with_9_is_sent_by_another(
    tmp_path: Path,
    make_replica: Callable[..., RunningService],
    replica_settings: dict[str, str],
    make_receiver: ReceiverFactory,
    site: FixtureSite,
    postgres_url: str,
) -> None:
    """The killed replica's claim runs out (webhook_outbox.LEASE); nobody can tell sooner that
    a process on another host is gone."""
    receiver = make_receiver(hold=True)
    killed = ServiceProcess(
        tmp_path / "killed", allow_private_urls="true", webhook_url=receiver.url, **replica_settings
    )
    try:
        killed.start()
        task_id = killed.client.post("/api/download", json={"url": clip(site)}).json()["id"]
        wait_until(lambda: receiver.calls, deadline_s=60, what="the delivery to be under way")
        killed.kill()
    finally:
        killed.stop()
    receiver.release()
    make_replica(webhook_url=receiver.url)
    wait_until(lambda: len(receiver.calls) == 2, deadline_s=60, what="the other replica's")

    cut_short, sent = receiver.calls
    assert sent.headers["x-offlinetube-delivery"] == cut_short.headers["x-offlinetube-delivery"]
    assert (payload(sent)["event"], payload(sent)["task"]["id"]) == ("task.completed", task_id)
    wait_until(lambda: unsent(postgres_url) == 0, what="the outbox to be empty")


# -- the notifier on its own ------------------------------------------------------------------


def final_task(status: TaskStatus = TaskStatus.COMPLETED) -> Task:
    now = datetime.now(UTC)
    return Task(
        id=str(uuid.uuid4()),
        url="https://example.com/v",
        format=None,
        status=status,
        created_at=now,
        finished_at=now,
    )


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"  # nothing listens there any more


async def wait_async(condition: Callable[[], bool], *, deadline_s: float = 10.0) -> None:
    give_up = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < give_up, "timed out"
        await asyncio.sleep(0.01)


def test_notify_never_blocks_or_raises_and_drops_when_the_queue_is_full(
    make_receiver: ReceiverFactory, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = make_receiver(hold=True)

    async def scenario() -> None:
        notifier = WebhookNotifier(receiver.url, None, queue_size=2, senders=1)
        notifier.start()
        for _ in range(5):
            notifier.notify(final_task())  # all before the sender runs: 2 fit, 3 are dropped
        await wait_async(lambda: len(receiver.calls) == 1)
        closing = time.monotonic()
        await notifier.close(timeout=0.2)
        assert time.monotonic() - closing < 5, "close must give up on a hanging receiver"
        notifier.notify(final_task())

    with caplog.at_level(logging.WARNING, logger="offlinetube_api.webhooks"):
        asyncio.run(scenario())
    messages = [record.getMessage() for record in caplog.records]
    assert sum("dropped" in message for message in messages) == 3
    assert any("not delivered after 0.2s" in message for message in messages)
    assert any("shutting down" in message for message in messages)


def test_receiver_that_is_down_is_retried_with_back_off_then_given_up_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = final_task(TaskStatus.FAILED)

    async def scenario() -> None:
        notifier = WebhookNotifier(closed_port_url(), "k", attempts=3, first_wait_s=0.01)
        notifier.start()
        notifier.notify(task)
        await wait_async(lambda: notifier.pending == 0)
        await notifier.close(timeout=1)

    with caplog.at_level(logging.WARNING, logger="offlinetube_api.webhooks"):
        asyncio.run(scenario())
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    gave_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [task.id in r.getMessage() for r in retries] == [True, True]
    assert len(gave_up) == 1
    assert task.id in gave_up[0].getMessage()
    assert "ConnectError" in gave_up[0].getMessage()
