"""Feeds a webhook notifier's senders from the durable outbox: claims entries as the senders
have room, keeps the leases of those it holds alive, settles each once it is sent or given up
on, and gives back what it still holds when the service stops."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from offlinetube_api.errors import StoreUnavailable
from offlinetube_api.models import Task
from offlinetube_api.webhook_outbox import OutboxEntry, SubscriptionNotice, WebhookOutbox

T = TypeVar("T")
logger = logging.getLogger(__name__)

# Outbox entries claimed at once, at most; fewer when the senders' queue has less room.
CLAIM_BATCH = 50
# A final state saved by another process (a worker on another host) is found this soon.
POLL_INTERVAL_S = 1.0
# A service without a webhook URL drops what no one has sent in this long: another replica
# with a URL has had ample time, and nothing piles up where webhooks are not used.
UNSENT_KEPT = timedelta(minutes=10)
DISCARD_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Notification:
    """A final state (`task`) or a subscription's event (`notice`) to send; `outbox_id` names
    its outbox entry (None on a notifier alone)."""

    task: Task | None
    delivery_id: str
    outbox_id: int | None = None
    notice: SubscriptionNotice | None = None


def notification(entry: OutboxEntry) -> Notification:
    return Notification(
        task=entry.task, delivery_id=entry.delivery_id, outbox_id=entry.id, notice=entry.notice
    )


class OutboxFeed:
    """`room()`: how many more notifications the senders' queue takes now; `offer` puts one
    there (never more than `room()` said)."""

    def __init__(
        self,
        outbox: WebhookOutbox,
        *,
        room: Callable[[], int],
        offer: Callable[[Notification], None],
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._outbox = outbox
        self._room = room
        self._offer = offer
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._held: set[int] = set()
        self._workers: list[asyncio.Task[None]] = []
        self._attempt = _Attempts()

    def start(self) -> None:
        """Call on the running event loop."""
        self._workers = [
            asyncio.create_task(self._claim_forever(), name="webhook-outbox-claims"),
            asyncio.create_task(self._renew_forever(), name="webhook-outbox-leases"),
        ]

    def wake(self) -> None:
        """A final state was saved in this process: look now rather than at the next poll."""
        self._wake.set()

    def stop_claiming(self) -> None:
        if self._workers:
            self._workers[0].cancel()

    async def settle(self, outbox_id: int) -> None:
        """Sent, or given up on: the entry goes. If the database cannot be told, the lease
        runs out and the entry is sent again (at least once, never lost)."""
        self._held.discard(outbox_id)
        self._wake.set()  # the senders have room again
        await self._attempt(self._outbox.done(outbox_id), "settle a webhook outbox entry")

    async def close(self) -> None:
        """Gives back every entry still held (queued, or cut short), so that the next start or
        another replica sends it without waiting for the lease."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._held:
            held, self._held = set(self._held), set()
            await self._attempt(self._outbox.release(held), "give back webhook outbox entries")

    async def _claim_forever(self) -> None:
        await self._attempt(self._outbox.recover(), "recover webhook outbox claims")
        while True:
            self._wake.clear()
            room = min(self._room(), CLAIM_BATCH)
            if room:
                claimed = await self._attempt(self._outbox.claim(room), "claim notifications")
                for entry in claimed or []:
                    self._held.add(entry.id)
                    self._offer(notification(entry))
                if claimed and len(claimed) == room:
                    continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)

    async def _renew_forever(self) -> None:
        every_s = self._outbox.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every_s)
            if self._held:
                await self._attempt(self._outbox.renew(set(self._held)), "renew webhook leases")


async def discard_unsent_forever(outbox: WebhookOutbox) -> None:
    """In a service without a webhook URL: drops what no one has sent in UNSENT_KEPT."""
    attempt = _Attempts()
    await attempt(outbox.recover(), "recover webhook outbox claims")
    while True:
        dropped = await attempt(outbox.discard_unsent(UNSENT_KEPT), "tidy the webhook outbox")
        if dropped:
            logger.info("%d final states were not sent: no webhook URL is configured", dropped)
        await asyncio.sleep(DISCARD_EVERY_S)


class _Attempts:
    """Calls to the database that may fail while it is down (a 503 elsewhere): each is tried
    again later, and a streak of failures is logged once, not once a second."""

    def __init__(self) -> None:
        self._failing = False

    async def __call__(self, call: Awaitable[T], what: str) -> T | None:
        try:
            result = await call
        except StoreUnavailable as exc:
            if not self._failing:
                logger.warning("could not %s, trying again: %s", what, exc)
            self._failing = True
            return None
        if self._failing:
            logger.info("the webhook outbox is reachable again")
        self._failing = False
        return result
