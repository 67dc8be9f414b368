"""The search by title, against every backend: each word must be a word of the title, in
any case, with or without accents; with status, positions and totals like any page."""

import asyncio
from typing import Any

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.title_words import words
from offlinetube_api.transitions import Described, Started
from tests.fixtures.stores import StoreFactory, numbered_task

TITLES = ["Canción de Amor", "CANCIÓN triste", "Amor y paz", None, "Straße nº 5"]


def _task(n: int, title: str | None, status: TaskStatus = TaskStatus.COMPLETED) -> Task:
    return numbered_task(n, status, title=title)


async def _found(store: TaskStore, query: str, **filters: Any) -> tuple[list[str | None], int]:
    page = await store.page(limit=100, words=words(query), **{"status": None, **filters})
    return [task.title for task in page.tasks], page.total


def test_every_word_is_a_title_word_in_any_case_and_accent(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            for n, title in enumerate(TITLES):
                await store.add(_task(n, title))
            assert await _found(store, "cancion") == (TITLES[1::-1], 2)
            assert await _found(store, "CANCIÓN amor") == ([TITLES[0]], 1)
            assert await _found(store, "amor") == ([TITLES[2], TITLES[0]], 2)
            assert await _found(store, "strasse 5") == ([TITLES[4]], 1)
            assert await _found(store, "no") == ([TITLES[4]], 1)  # "nº" is "no"
            assert await _found(store, "triste amor") == ([], 0)
            assert await _found(store, "canciones") == ([], 0)  # whole words
            assert await _found(store, "amo") == ([], 0)

    asyncio.run(scenario())


def test_search_with_status_and_positions(task_store: StoreFactory) -> None:
    tasks = [
        _task(n, f"Episode {n}", TaskStatus.FAILED if n % 3 == 0 else TaskStatus.COMPLETED)
        for n in range(10)
    ]

    async def scenario() -> None:
        async with task_store.opened() as store:
            for task in [*tasks, _task(10, "Other")]:
                await store.add(task)
            query = words("episode")
            first = await store.page(status=TaskStatus.COMPLETED, limit=4, words=query)
            assert first.total == 6
            rest = await store.page(
                status=TaskStatus.COMPLETED, limit=4, words=query, before=first.following
            )
            titles = [task.title for task in first.tasks + rest.tasks]
            assert titles == [f"Episode {n}" for n in (8, 7, 5, 4, 2, 1)]
            assert rest.following is None
            by_offset = await store.page(status=None, limit=2, offset=8, words=query)
            assert [task.title for task in by_offset.tasks] == ["Episode 1", "Episode 0"]

    asyncio.run(scenario())


def test_a_title_given_later_is_found_and_a_removed_task_is_not(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            untitled = _task(1, None, TaskStatus.QUEUED)
            await store.add(untitled)
            await store.add(_task(2, "Vídeo gone"))
            await store.apply(untitled.id, Started(attempt=1))
            await store.apply(untitled.id, Described("Nuevo vídeo", 3.0, None))
            assert await store.remove(_task(2, None).id)
            assert await _found(store, "video") == (["Nuevo vídeo"], 1)

    asyncio.run(scenario())


def test_titles_of_rows_without_words_get_them_at_open(task_store: StoreFactory) -> None:
    """As the rows of releases before the search have them."""

    async def scenario() -> None:
        async with task_store.opened() as store:
            for n, title in enumerate(TITLES):
                await store.add(_task(n, title))
            await _forget_title_words(store, task_store.backend)
            assert await _found(store, "amor") == ([], 0)
        async with task_store.opened() as store:
            assert await _found(store, "amor") == ([TITLES[2], TITLES[0]], 2)

    asyncio.run(scenario())


async def _forget_title_words(store: Any, backend: str) -> None:
    forget = "UPDATE tasks SET title_words = NULL"
    if backend == "sqlite":
        await store.run(lambda db: db.execute(forget))
    else:

        async def run(connection: Any) -> None:
            await connection.execute(forget)

        await store.run(run)
