"""Checks against each store backend, with the clock and the listing injected: a check is
claimed by one process at a time, and one lost half-way runs again, once."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from offlinetube_api.models import DownloadOrder
from offlinetube_api.ports import Submission, TaskStore
from offlinetube_api.store import SqliteTaskStore
from offlinetube_api.subscriptions.checks import SubscriptionChecker
from offlinetube_api.subscriptions.listing import ListedVideo, Listing, ListingJob
from offlinetube_api.subscriptions.model import Subscription, SubscriptionSpec
from offlinetube_api.subscriptions.ports import SubscriptionStore
from offlinetube_api.subscriptions.sqlite_store import SqliteSubscriptionStore
from offlinetube_api.worker.ledger import new_task
from tests.fixtures.stores import StoreFactory, numbered_task

T0 = datetime(2026, 6, 1, tzinfo=UTC)
SPEC = SubscriptionSpec(url="https://example.com/channel", name="channel")
LISTING = Listing(
    videos=tuple(
        ListedVideo(
            key=f"site:{n}",
            url=f"https://example.com/{n}",
            title=f"V{n}",
            extractor="Site",
            video_id=str(n),
        )
        for n in range(2)
    )
)


def _subscriptions(store: TaskStore) -> SubscriptionStore:
    if isinstance(store, SqliteTaskStore):
        return SqliteSubscriptionStore(store)
    from offlinetube_api.subscriptions.postgres_store import PostgresSubscriptionStore

    return PostgresSubscriptionStore(store)  # type: ignore[arg-type]


class RecordedDownloads:
    """Downloads that only remember what was submitted."""

    def __init__(self) -> None:
        self.orders: list[DownloadOrder] = []

    async def submit(self, order: DownloadOrder, *, force: bool = False) -> Submission:
        self.orders.append(order)
        return Submission(new_task(order), queued=True)


def _checker(
    subscriptions: SubscriptionStore, downloads: RecordedDownloads, at: datetime, lister: object
) -> SubscriptionChecker:
    return SubscriptionChecker(
        subscriptions=subscriptions,
        downloads=downloads,  # type: ignore[arg-type]
        job_for=lambda url: ListingJob(url=url, max_entries=10),
        listing_timeout_s=30,
        clock=lambda: at,
        lister=lister,  # type: ignore[arg-type]
        claimer=f"host-{at.isoformat()}",
    )


async def _listed(job: ListingJob, timeout_s: float) -> Listing:
    return LISTING


def test_one_claimer_of_many_gets_a_due_check(task_store: StoreFactory) -> None:
    async def scenario() -> list[Subscription | None]:
        stores = [task_store.new() for _ in range(4)]  # four processes' connections
        for store in stores:
            await store.open()
        try:
            await _subscriptions(stores[0]).add(Subscription("s-1", SPEC, T0, next_check_at=T0))
            claims = [
                _subscriptions(store).claim(
                    None, now=T0, lease=timedelta(minutes=5), claimer=f"host-{n}"
                )
                for n, store in enumerate(stores)
            ]
            return await asyncio.gather(*claims)
        finally:
            for store in stores:
                await store.close()

    claimed = asyncio.run(scenario())
    assert [subscription.id for subscription in claimed if subscription] == ["s-1"]


def test_a_check_lost_half_way_runs_again_once_when_its_claim_runs_out(
    task_store: StoreFactory,
) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            subscriptions = _subscriptions(store)
            await subscriptions.add(Subscription("s-1", SPEC, T0, next_check_at=T0))
            listing_started = asyncio.Event()

            async def hangs(job: ListingJob, timeout_s: float) -> Listing:
                listing_started.set()
                await asyncio.Event().wait()
                raise AssertionError("unreachable")

            downloads = RecordedDownloads()
            lost = asyncio.create_task(_checker(subscriptions, downloads, T0, hangs).run_due())
            await listing_started.wait()
            lost.cancel()  # the host died during the listing

            soon = _checker(subscriptions, downloads, T0 + timedelta(seconds=1), _listed)
            assert await soon.run_due() == []  # its claim still holds
            later_at = T0 + soon.lease + timedelta(seconds=1)
            later = _checker(subscriptions, downloads, later_at, _listed)
            [checked] = await later.run_due()
            assert await later.run_due() == []  # done: due again one interval later

        assert checked.checks == 1 and checked.last_check is not None
        assert len(checked.last_check.task_ids) == 2
        assert checked.next_check_at == later_at + SPEC.interval
        assert [order.video_id for order in downloads.orders] == ["1", "0"]  # oldest first

    asyncio.run(scenario())


def test_the_same_video_under_another_address_is_a_duplicate(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            video = {"extractor": "Youtube", "video_id": "abc"}
            first = numbered_task(1, **video)
            await store.add(first)
            short_link = replace(numbered_task(2, **video), url="https://youtu.be/abc")
            other_video = replace(short_link, id=numbered_task(3).id, video_id="xyz")
            assert await store.add_unless_same(short_link, max_queued=10) == first
            assert await store.add_unless_same(other_video, max_queued=10) is None

    asyncio.run(scenario())
