"""The task store's contract, against every backend (`task_store`): tasks, transitions and
their events, the kept counts. SQLite's own behaviour is at the end."""

import asyncio
import sqlite3
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from offlinetube_api.config import Settings
from offlinetube_api.errors import QueueFull
from offlinetube_api.models import AudioFormat, ErrorKind, Task, TaskStatus
from offlinetube_api.ports import ProcessGroup, StoredFile, TaskPage
from offlinetube_api.store import PostgresTaskStore, SqliteTaskStore, open_store
from offlinetube_api.transitions import (
    Cancelled,
    Completed,
    Described,
    Failed,
    ProgressMade,
    Requeued,
    RequeueReason,
    Started,
    TransitionName,
    TransitionRefused,
)
from tests.fixtures.stores import StoreFactory

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _task(n: int, status: TaskStatus = TaskStatus.QUEUED, **fields: Any) -> Task:
    return replace(
        Task(
            id=f"00000000-0000-4000-8000-{n:012d}",
            url=f"https://example.com/{n}",
            format=None,
            status=status,
            created_at=EPOCH + timedelta(seconds=n),
        ),
        **fields,
    )


def test_page_is_newest_first_with_total(task_store: StoreFactory) -> None:
    tasks = [_task(n, TaskStatus.COMPLETED if n % 2 else TaskStatus.FAILED) for n in range(10)]

    async def scenario() -> None:
        async with task_store.opened() as store:
            for task in tasks:
                await store.add(task)
            page = await store.page(status=None, limit=3, offset=2)
            assert [task.id for task in page.tasks] == [tasks[7].id, tasks[6].id, tasks[5].id]
            assert page.total == 10
            completed = await store.page(status=TaskStatus.COMPLETED, limit=100, offset=0)
            assert completed.total == 5
            assert [task.id for task in completed.tasks] == [tasks[n].id for n in (9, 7, 5, 3, 1)]
            assert await store.page(status=TaskStatus.QUEUED, limit=10) == TaskPage([], 0, None)

    asyncio.run(scenario())


def test_tasks_survive_reopening_the_database(task_store: StoreFactory) -> None:
    async def write() -> None:
        async with task_store.opened() as store:
            await store.add(_task(1, TaskStatus.DOWNLOADING))
            await store.add(_task(2))

    async def read() -> list[Task]:
        async with task_store.opened() as store:
            return await store.with_status([TaskStatus.DOWNLOADING, TaskStatus.QUEUED])

    asyncio.run(write())
    assert asyncio.run(read()) == [_task(1, TaskStatus.DOWNLOADING), _task(2)]


def test_every_field_round_trips(task_store: StoreFactory) -> None:
    task = _task(
        1,
        TaskStatus.COMPLETED,
        title="Ünïcode ✓",
        progress=100.0,
        downloaded_bytes=5_000_000_000,
        total_bytes=5_000_000_000,
        filename="a.mp4",
        filesize=5_000_000_000,
        ext="mp4",
        duration=12.5,
        started_at=EPOCH + timedelta(microseconds=1),
        finished_at=EPOCH + timedelta(hours=1),
        attempts=2,
        error_kind=ErrorKind.FILE_MISSING,
        playlist_id="p",
        playlist_index=3,
        audio_format=AudioFormat.MP3,
        subtitle_langs=("en", "de"),
        subtitle_files=("a.en.vtt",),
        warnings=("no subtitles in fr",),
        transcoded=True,
        source_url="https://example.com/list",
        page_item=2,
        process_group=1234,
        process_started=99_999_999_999,
    )

    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(task)
            assert await store.get(task.id) == task
            (event,) = await store.events_after(0)
            assert event.task == task

    asyncio.run(scenario())


def test_add_saves_a_queued_event_and_a_finished_task_an_imported_one(
    task_store: StoreFactory,
) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(_task(1))
            await store.add(_task(2, TaskStatus.COMPLETED))
            queued, imported = await store.events_after(0)
            assert (queued.task_id, queued.transition) == (_task(1).id, TransitionName.QUEUED)
            assert queued.task == _task(1) and not queued.final
            assert imported.transition is TransitionName.IMPORTED and imported.final
            assert queued.id < imported.id
            assert queued.at.tzinfo is not None

    asyncio.run(scenario())


def test_apply_saves_the_change_and_its_event(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(_task(1))
            started = await store.apply(_task(1).id, Started(attempt=1, started_at=EPOCH))
            assert started is not None
            assert (started.status, started.attempts) == (TaskStatus.DOWNLOADING, 1)
            assert started.started_at == EPOCH
            progress = await store.apply(_task(1).id, ProgressMade(50, 200, 10.0, 15))
            assert progress is not None and progress.progress == 25.0
            assert await store.get(_task(1).id) == progress
            events = await store.events_after(0)
            assert [event.transition for event in events] == ["queued", "started", "progress"]
            assert [event.task for event in events[1:]] == [started, progress]

    asyncio.run(scenario())


def test_text_with_nul_is_kept_with_a_replacement_character_in_tasks_and_events(
    task_store: StoreFactory,
) -> None:
    """PostgreSQL refuses U+0000 in text and jsonb; a site's title may carry one."""

    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(_task(1, warnings=("bad\x00warning",)))
            await store.apply(_task(1).id, Started(attempt=1, started_at=EPOCH))
            described = await store.apply(_task(1).id, Described("a\x00b", 3.0, None))
            assert described is not None
            saved = await store.get(_task(1).id)
            assert saved is not None
            assert (saved.title, saved.warnings) == ("a\ufffdb", ("bad\ufffdwarning",))
            events = await store.events_after(0)
            assert events[-1].task is not None and events[-1].task.title == "a\ufffdb"

    asyncio.run(scenario())


def test_apply_refuses_what_the_status_does_not_allow_and_saves_nothing(
    task_store: StoreFactory,
) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(_task(1))
            with pytest.raises(TransitionRefused) as refused:
                await store.apply(_task(1).id, Completed("a.mp4", "mp4", 1, None))
            assert refused.value.status is TaskStatus.QUEUED
            assert await store.get(_task(1).id) == _task(1)
            assert len(await store.events_after(0)) == 1
            assert await store.count([TaskStatus.COMPLETED]) == 0

    asyncio.run(scenario())


def test_apply_refuses_a_worker_whose_attempt_is_over(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(_task(1))
            await store.apply(_task(1).id, Started(attempt=1))
            await store.apply(_task(1).id, Requeued(RequeueReason.INTERRUPTED))
            await store.apply(_task(1).id, Started(attempt=2))
            with pytest.raises(TransitionRefused):
                await store.apply(_task(1).id, Failed("stale", ErrorKind.UNKNOWN), attempt=1)
            described = await store.apply(_task(1).id, Described("t", 3.0, None), attempt=2)
            assert described is not None and described.title == "t"

    asyncio.run(scenario())


def test_apply_to_a_task_that_is_gone_returns_none(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            assert await store.apply("missing", Cancelled()) is None
            assert await store.events_after(0) == []

    asyncio.run(scenario())


def test_counts_follow_adds_transitions_and_removals(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            for n in range(5):
                await store.add(_task(n))
            await store.apply(_task(0).id, Started(attempt=1))
            await store.apply(_task(1).id, Cancelled())
            await store.apply(_task(2).id, Cancelled())
            assert await store.remove(_task(2).id) is True
            assert await store.count([TaskStatus.QUEUED]) == 2
            assert await store.count([TaskStatus.DOWNLOADING, TaskStatus.CANCELLED]) == 2
            assert await store.count([]) == 0
            assert (await store.page(status=TaskStatus.CANCELLED, limit=1)).total == 1

    asyncio.run(scenario())


def test_remove_saves_a_removed_event_once(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(_task(1))
            assert await store.remove(_task(1).id) is True
            assert await store.remove(_task(1).id) is False
            assert await store.get(_task(1).id) is None
            events = await store.events_after(0)
            assert [event.transition for event in events] == ["queued", "removed"]
            assert events[1].task is None and events[1].final

    asyncio.run(scenario())


def test_note_process_is_kept_without_an_event(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(_task(1))
            await store.note_process(_task(1).id, ProcessGroup(4321, 777))
            noted = await store.get(_task(1).id)
            assert noted is not None
            assert (noted.process_group, noted.process_started) == (4321, 777)
            await store.note_process(_task(1).id, None)
            assert await store.get(_task(1).id) == _task(1)
            assert len(await store.events_after(0)) == 1

    asyncio.run(scenario())


def test_events_after_pages_and_filters_by_task(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            for n in range(3):
                await store.add(_task(n))
            await store.apply(_task(1).id, Cancelled())
            every = await store.events_after(0)
            assert len(every) == 4
            assert await store.events_after(every[1].id, limit=2) == every[2:4]
            of_one = await store.events_after(0, task_id=_task(1).id)
            assert [event.transition for event in of_one] == ["queued", "cancelled"]
            assert await store.events_after(of_one[0].id, task_id=_task(1).id) == of_one[1:]

    asyncio.run(scenario())


def test_event_bounds_and_pruning(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            assert await store.event_bounds() == (0, 0)
            for n in range(5):
                await store.add(_task(n))
            ids = [event.id for event in await store.events_after(0)]
            assert await store.event_bounds() == (ids[0], ids[-1])
            assert await store.prune_events(keep=2, max_age=timedelta(days=1)) == 3
            assert [event.id for event in await store.events_after(0)] == ids[3:]
            assert await store.event_bounds() == (ids[3], ids[-1])
            assert await store.prune_events(keep=10, max_age=timedelta(0)) == 2
            assert await store.event_bounds() == (ids[-1] + 1, ids[-1])
            await store.add(_task(9))
            (after,) = await store.events_after(0)
            assert after.id > ids[-1]

    asyncio.run(scenario())


def test_add_unless_same_answers_live_tasks_and_missing_files_not_dead_ones(
    task_store: StoreFactory,
) -> None:
    url = "https://example.com/v"
    done = _task(1, TaskStatus.COMPLETED, url=url, filename="a.mp4")
    missing = _task(2, TaskStatus.FAILED, url=url, error_kind=ErrorKind.FILE_MISSING)
    cancelled = _task(3, TaskStatus.CANCELLED, url=url)
    audio = _task(4, url=url, audio_format=AudioFormat.M4A)
    from_playlist = _task(5, url="https://example.com/v1", source_url=url, format="best")
    other_format = _task(6, url=url, format="worst")

    async def scenario() -> None:
        async with task_store.opened() as store:
            for task in (done, missing, cancelled, audio, from_playlist):
                await store.add(task)

            def post(**options: Any) -> Awaitable[Task | None]:
                return store.add_unless_same(_task(9, url=url, **options), max_queued=100)

            assert await post() == missing
            assert await post(audio_format=AudioFormat.M4A) == audio
            assert await post(format="best") == from_playlist
            assert await store.add_unless_same(other_format, max_queued=100) is None
            assert await store.get(other_format.id) == other_format
            (queued,) = await store.events_after(0, task_id=other_format.id)
            assert queued.transition is TransitionName.QUEUED
            files = await store.downloaded_files()
            assert sorted(files) == sorted(
                [
                    StoredFile(done.id, "a.mp4", TaskStatus.COMPLETED),
                    StoredFile(missing.id, None, TaskStatus.FAILED),
                ]
            )

    asyncio.run(scenario())


def test_add_unless_same_at_once_from_two_stores_adds_one_task(task_store: StoreFactory) -> None:
    """Two stores on one database, as two replicas (or two connections to one SQLite file)."""
    posts = [_task(n, url="https://example.com/v") for n in range(1, 9)]

    async def scenario() -> None:
        async with task_store.opened() as first, task_store.opened() as second:
            answers = await asyncio.gather(
                *(
                    (first, second)[n % 2].add_unless_same(task, max_queued=100)
                    for n, task in enumerate(posts)
                )
            )
            added = [task for task, answer in zip(posts, answers, strict=True) if answer is None]
            assert len(added) == 1, answers
            assert [answer for answer in answers if answer is not None] == added * 7
            assert await first.count([TaskStatus.QUEUED]) == 1

    asyncio.run(scenario())


def test_add_unless_same_refuses_a_new_task_but_not_a_duplicate_when_the_queue_is_full(
    task_store: StoreFactory,
) -> None:
    waiting = _task(1)

    async def scenario() -> None:
        async with task_store.opened() as store:
            await store.add(waiting)
            with pytest.raises(QueueFull):
                await store.add_unless_same(_task(2), max_queued=1)
            assert await store.add_unless_same(_task(3, url=waiting.url), max_queued=1) == waiting
            assert await store.count([TaskStatus.QUEUED]) == 1

    asyncio.run(scenario())


def test_in_playlist_is_in_playlist_order(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            for n, index in ((1, 3), (2, 1), (3, 2)):
                await store.add(_task(n, playlist_id="p", playlist_index=index))
            await store.add(_task(4, playlist_id="q", playlist_index=1))
            found = await store.in_playlist("p")
            assert [task.playlist_index for task in found] == [1, 2, 3]

    asyncio.run(scenario())


# SQLite's own: the journal, announcements.


def test_database_uses_wal_journal(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"

    async def create() -> None:
        store = SqliteTaskStore(path)
        await store.open()
        await store.close()

    asyncio.run(create())
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_saved_events_are_announced_after_their_commit(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    seen_at_announce: list[int] = []

    def announce() -> None:
        # Another connection, as a reader elsewhere: the events are committed already.
        with sqlite3.connect(path) as reader:
            (saved,) = reader.execute("SELECT count(*) FROM task_events").fetchone()
        reader.close()
        seen_at_announce.append(saved)

    async def scenario() -> None:
        store = SqliteTaskStore(path, announce=announce)
        await store.add(_task(1))
        await store.apply(_task(1).id, Cancelled())
        await store.remove(_task(1).id)
        await store.note_process(_task(2).id, None)
        await store.close()

    asyncio.run(scenario())
    assert seen_at_announce == [1, 2, 3]


def test_open_store_chooses_the_backend_by_the_database_url(
    tmp_path: Path, postgres_url: str
) -> None:
    announced: list[str] = []
    embedded = open_store(Settings(data_dir=tmp_path), lambda: announced.append("sqlite"))
    distributed = open_store(
        Settings(data_dir=tmp_path, database_url=postgres_url), lambda: announced.append("pg")
    )
    assert isinstance(embedded, SqliteTaskStore)
    assert isinstance(distributed, PostgresTaskStore)

    async def scenario() -> None:
        for store in (embedded, distributed):
            await store.open()
            await store.add(_task(1))
            assert await store.get(_task(1).id) == _task(1)
            await store.close()

    asyncio.run(scenario())
    assert announced == ["sqlite"]  # PostgreSQL announces its commits itself (NOTIFY)
    assert (tmp_path / "offlinetube.sqlite3").is_file()
