"""Pages by position (keyset pagination), against every backend: `following` leads through
every task once, newest first, however many tasks arrive meanwhile."""

import asyncio

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import TaskPage, TaskStore
from tests.fixtures.stores import StoreFactory, numbered_task


async def _walk(
    store: TaskStore,
    status: TaskStatus | None,
    limit: int,
    *,
    add_per_page: list[Task],
    oldest_first: bool = False,
) -> list[TaskPage]:
    """Every page from the first by `following`, adding one of `add_per_page` after each."""
    order = {"oldest_first": oldest_first}
    pages = [await store.page(status=status, limit=limit, **order)]
    arriving = iter(add_per_page)
    while pages[-1].following is not None:
        if (task := next(arriving, None)) is not None:
            await store.add(task)
        following = pages[-1].following
        pages.append(await store.page(status=status, limit=limit, before=following, **order))
    return pages


def test_following_visits_every_task_once_while_tasks_arrive(task_store: StoreFactory) -> None:
    first = [numbered_task(n) for n in range(7)]
    later = [numbered_task(n) for n in range(100, 110)]

    async def scenario() -> None:
        async with task_store.opened() as store:
            for task in first:
                await store.add(task)
            pages = await _walk(store, None, 3, add_per_page=later)
            assert [len(page.tasks) for page in pages] == [3, 3, 1]
            visited = [task.id for page in pages for task in page.tasks]
            assert visited == [task.id for task in reversed(first)]
            assert [page.total for page in pages] == [7, 8, 9]

    asyncio.run(scenario())


def test_oldest_first_visits_every_task_once_then_those_that_arrived(
    task_store: StoreFactory,
) -> None:
    statuses = [TaskStatus.FAILED if n % 3 else TaskStatus.COMPLETED for n in range(7)]
    first = [numbered_task(n, status) for n, status in enumerate(statuses)]
    later = [numbered_task(n) for n in range(100, 102)]

    async def scenario() -> None:
        async with task_store.opened() as store:
            for task in first:
                await store.add(task)
            pages = await _walk(store, None, 3, add_per_page=later, oldest_first=True)
            visited = [task.id for page in pages for task in page.tasks]
            assert visited == [task.id for task in first + later]
            completed = await store.page(status=TaskStatus.COMPLETED, limit=2, oldest_first=True)
            assert [task.id for task in completed.tasks] == [first[0].id, first[3].id]
            assert completed.total == 5  # three first, and the two that arrived

    asyncio.run(scenario())


def test_a_last_page_that_is_full_has_no_following(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            for n in range(4):
                await store.add(numbered_task(n))
            pages = await _walk(store, None, 2, add_per_page=[])
            assert [(len(page.tasks), page.following is None) for page in pages] == [
                (2, False),
                (2, True),
            ]

    asyncio.run(scenario())


def test_following_keeps_to_the_status_asked(task_store: StoreFactory) -> None:
    statuses = [TaskStatus.FAILED if n % 3 else TaskStatus.COMPLETED for n in range(12)]
    tasks = [numbered_task(n, status) for n, status in enumerate(statuses)]
    failed_later = [numbered_task(n, TaskStatus.FAILED) for n in range(100, 105)]

    async def scenario() -> None:
        async with task_store.opened() as store:
            for task in tasks:
                await store.add(task)
            pages = await _walk(store, TaskStatus.FAILED, 3, add_per_page=failed_later)
            visited = [task.id for page in pages for task in page.tasks]
            expected = [task.id for task in reversed(tasks) if task.status is TaskStatus.FAILED]
            assert visited == expected
            assert pages[0].total == 8

    asyncio.run(scenario())


def test_before_every_task_is_an_empty_page_with_the_total(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            for n in range(3):
                await store.add(numbered_task(n))
            oldest = (await store.page(status=None, limit=2)).following
            assert oldest is not None
            last = await store.page(status=None, limit=2, before=oldest)
            assert (len(last.tasks), last.following) == (1, None)
            assert await store.page(status=None, limit=2, before=0) == TaskPage([], 3, None)
            everything = await store.page(status=None, limit=5, before=2**63 - 1)
            assert len(everything.tasks) == 3

    asyncio.run(scenario())
