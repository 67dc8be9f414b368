"""Webhook notifications of final task states and subscription events.

Every task that ends `completed`, `failed` or `cancelled`, and every subscription event, is
POSTed as JSON to the configured URL when its name is among the notifier's `events`
(OFFLINETUBE_WEBHOOK_EVENTS, webhook_events.py), signed like GitHub's webhooks
(`X-OfflineTube-Signature: sha256=<hex HMAC of the body>`).
Delivery, retries and back-off happen in background senders, so a slow or dead receiver never
holds up a download.

In the service the notifications come from the durable outbox (webhook_outbox.py), written in
the transaction of each final state: a dispatcher claims them as the senders have room, and
`notify`, called by whoever saved a final state in this process, only wakes it up. On its own
(no outbox) the notifier queues in memory what `notify` hands it.
"""

import asyncio
import contextlib
import hashlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from offlinetube_api import __version__
from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.subscription_schemas import SubscriptionPublic
from offlinetube_api.webhook_events import TASK_EVENTS, WebhookEvent
from offlinetube_api.webhook_feed import (
    POLL_INTERVAL_S,
    Notification,
    OutboxFeed,
    discard_unsent_forever,
)
from offlinetube_api.webhook_outbox import WebhookOutbox, webhook_outbox

logger = logging.getLogger(__name__)


EVENT_HEADER = "X-OfflineTube-Event"
DELIVERY_HEADER = "X-OfflineTube-Delivery"
SIGNATURE_HEADER = "X-OfflineTube-Signature"

EVENTS: dict[TaskStatus, WebhookEvent] = {
    TaskStatus.COMPLETED: "task.completed",
    TaskStatus.FAILED: "task.failed",
    TaskStatus.CANCELLED: "task.cancelled",
}


class WebhookPayload(BaseModel):
    """The JSON body of a final state's delivery."""

    event: WebhookEvent
    task: TaskPublic
    sent_at: datetime


class SubscriptionWebhookPayload(BaseModel):
    """The JSON body of a subscription event's delivery: the subscription as its event left
    it (as it was, for `subscription.deleted`)."""

    event: WebhookEvent
    subscription: SubscriptionPublic
    sent_at: datetime


class DeliveryRejected(Exception):
    """The receiver answered, but not with a 2xx."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"receiver answered HTTP {status_code}")
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification, exactly as it is sent on every attempt (same id, same bytes)."""

    id: str
    subject_id: str  # the task's id, or the subscription's
    event: WebhookEvent
    body: bytes
    headers: dict[str, str]


def sign(body: bytes, secret: str) -> str:
    """The `X-OfflineTube-Signature` value: `sha256=` and the hex HMAC-SHA256 of the body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _payload(notification: Notification) -> WebhookPayload | SubscriptionWebhookPayload:
    sent_at = datetime.now(UTC)
    if (notice := notification.notice) is not None:
        public = SubscriptionPublic.from_subscription(notice.subscription)
        return SubscriptionWebhookPayload(
            event=notice.name.value, subscription=public, sent_at=sent_at
        )
    task = notification.task
    assert task is not None, "a notification holds a task or a subscription's event"
    return WebhookPayload(
        event=EVENTS[task.status], task=TaskPublic.from_task(task), sent_at=sent_at
    )


def build_delivery(notification: Notification, secret: str | None) -> Delivery:
    delivery_id = notification.delivery_id
    payload = _payload(notification)
    event = payload.event
    subject_id = payload.task.id if isinstance(payload, WebhookPayload) else payload.subscription.id
    body = payload.model_dump_json().encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"OfflineTube-API/{__version__}",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    return Delivery(id=delivery_id, subject_id=subject_id, event=event, body=body, headers=headers)


class WebhookNotifier:
    """POSTs final task states from background senders, with retries.

    Only notifications named in `events` are sent; the others are settled unsent.

    `notify` never blocks and never raises. `fed_by_outbox` (the service): `start` is given the
    outbox, and `notify` only wakes its feed, which hands the senders what the outbox holds as
    they have room: nothing is dropped, a `notify` before `start` is found in the outbox all
    the same, and what is not delivered at shutdown stays there for the next start. Otherwise
    `notify` queues in memory and drops, with a warning, what does not fit.

    A failed attempt (connection error, timeout, non-2xx answer) is retried with exponential
    back-off: `first_wait_s`, doubling, at most `max_wait_s`, `attempts` in all; then the
    notification is given up on, with an error in the log.
    """

    def __init__(
        self,
        url: str,
        secret: str | None,
        *,
        attempts: int = 5,
        first_wait_s: float = 0.5,
        max_wait_s: float = 30.0,
        request_timeout_s: float = 10.0,
        queue_size: int = 1000,
        senders: int = 4,
        poll_interval_s: float = POLL_INTERVAL_S,
        fed_by_outbox: bool = False,
        events: Collection[WebhookEvent] = TASK_EVENTS,
    ) -> None:
        self._url = url
        self._events = frozenset(events)
        self._fed_by_outbox = fed_by_outbox
        self._secret = secret
        self._attempts = attempts
        self._first_wait_s = first_wait_s
        self._max_wait_s = max_wait_s
        self._request_timeout_s = request_timeout_s
        self._sender_count = senders
        self._poll_interval_s = poll_interval_s
        self._queue: asyncio.Queue[Notification] = asyncio.Queue(maxsize=queue_size)
        self._senders: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._feed: OutboxFeed | None = None
        self._pending = 0
        self._closing = False

    @property
    def pending(self) -> int:
        """Notifications queued or being delivered (retries included)."""
        return self._pending

    def start(self, outbox: WebhookOutbox | None = None) -> None:
        """Start the background senders, fed from `outbox` (given if and only if the notifier
        is `fed_by_outbox`); call on the running event loop."""
        assert (outbox is not None) == self._fed_by_outbox, "fed_by_outbox says whether"
        timeout = httpx.Timeout(self._request_timeout_s, connect=min(5.0, self._request_timeout_s))
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._senders = [
            asyncio.create_task(self._send_forever(), name=f"webhook-sender-{n}")
            for n in range(self._sender_count)
        ]
        if outbox is not None:
            self._feed = OutboxFeed(
                outbox, room=self._room, offer=self._enqueue, poll_interval_s=self._poll_interval_s
            )
            self._feed.start()

    def notify(self, task: Task) -> None:
        """A task reached a final state: POST it. Never blocks, never raises."""
        if task.status not in EVENTS:
            logger.warning("webhook for task %s not sent: %s is not final", task.id, task.status)
            return
        if self._fed_by_outbox:
            if self._feed is not None:
                self._feed.wake()  # its outbox entry was saved with the state
            return
        if self._closing:
            logger.warning("webhook for task %s not sent: the service is shutting down", task.id)
            return
        try:
            self._enqueue(Notification(task=task, delivery_id=str(uuid.uuid4())))
        except asyncio.QueueFull:
            logger.warning(
                "webhook for task %s dropped: %d notifications already wait to be sent",
                task.id,
                self._queue.maxsize,
            )

    def _room(self) -> int:
        return 0 if self._closing else self._queue.maxsize - self._queue.qsize()

    def _enqueue(self, notification: Notification) -> None:
        self._queue.put_nowait(notification)
        self._pending += 1

    async def close(self, timeout: float) -> None:
        """Stop the senders, giving queued deliveries up to `timeout` seconds. Fed from an
        outbox, what is left there is sent at the next start (or by another replica)."""
        self._closing = True
        if self._feed:
            self._feed.stop_claiming()
        if self._senders:
            try:
                await asyncio.wait_for(self._queue.join(), timeout)
            except TimeoutError:
                logger.warning(
                    "%d webhook notifications not delivered after %.1fs; %s",
                    self.pending,
                    timeout,
                    "they stay in the outbox" if self._feed else "giving up on them",
                )
        for sender in self._senders:
            sender.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        if self._feed:
            await self._feed.close()
        if self._client:
            await self._client.aclose()

    async def _send_forever(self) -> None:
        while True:
            notification = await self._queue.get()
            try:
                await self._send(notification)
                # Not when cut short by close(): the outbox keeps it for the next start.
                if self._feed and notification.outbox_id is not None:
                    await self._feed.settle(notification.outbox_id)
            finally:
                self._pending -= 1
                self._queue.task_done()

    async def _send(self, notification: Notification) -> None:
        """Delivered, not wanted (not among `events`), or given up on with an error in the
        log."""
        try:
            delivery = build_delivery(notification, self._secret)
            if delivery.event in self._events:
                await self._deliver(delivery)
        except (httpx.TransportError, DeliveryRejected) as error:
            logger.error(
                "webhook %s for %s not delivered after %d attempts: %s",
                delivery.event,
                delivery.subject_id,
                self._attempts,
                _describe(error),
            )
        except Exception:  # a bug here must not stop the sender for every later task
            logger.exception("webhook %s failed unexpectedly", notification.delivery_id)

    async def _deliver(self, delivery: Delivery) -> None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._first_wait_s, max=self._max_wait_s),
            retry=retry_if_exception_type((httpx.TransportError, DeliveryRejected)),
            before_sleep=_log_retry(delivery),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._post(delivery)
        logger.info("webhook %s for %s delivered", delivery.event, delivery.subject_id)

    async def _post(self, delivery: Delivery) -> None:
        assert self._client is not None, "start() was not called"
        response = await self._client.post(
            self._url, content=delivery.body, headers=delivery.headers
        )
        if not response.is_success:
            raise DeliveryRejected(response.status_code)


@contextlib.asynccontextmanager
async def outbox_delivery(
    notifier: WebhookNotifier | None, store: TaskStore, *, close_timeout_s: float
) -> AsyncIterator[None]:
    """While `store` (open) is: `notifier` (`fed_by_outbox`) sends what the outbox holds; with
    no notifier (no webhook URL), what no one sends is dropped after a while instead."""
    outbox = webhook_outbox(store)
    if notifier is None:
        tidying = asyncio.create_task(discard_unsent_forever(outbox), name="webhook-tidying")
        try:
            yield
        finally:
            tidying.cancel()
            await asyncio.gather(tidying, return_exceptions=True)
        return
    notifier.start(outbox)
    try:
        yield
    finally:
        await notifier.close(timeout=close_timeout_s)


def _log_retry(delivery: Delivery) -> Callable[[RetryCallState], None]:
    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "webhook %s for %s: attempt %d failed (%s); retrying in %.1fs",
            delivery.event,
            delivery.subject_id,
            state.attempt_number,
            _describe(error),
            wait,
        )

    return log


def _describe(error: BaseException | None) -> str:
    """`ConnectTimeout` and friends often have an empty message; the type says what happened."""
    if error is None:
        return "unknown error"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
