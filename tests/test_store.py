"""SqliteTaskStore against a real SQLite file."""

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.store import SqliteTaskStore

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _task(n: int, status: TaskStatus = TaskStatus.QUEUED) -> Task:
    return Task(
        id=f"00000000-0000-4000-8000-{n:012d}",
        url=f"https://example.com/{n}",
        format=None,
        status=status,
        created_at=EPOCH + timedelta(seconds=n),
    )


def test_page_is_newest_first_with_total(tmp_path: Path) -> None:
    tasks = [_task(n, TaskStatus.COMPLETED if n % 2 else TaskStatus.FAILED) for n in range(10)]

    async def scenario() -> None:
        store = SqliteTaskStore(tmp_path / "db.sqlite3")
        for task in tasks:
            await store.add(task)
        page, total = await store.page(status=None, limit=3, offset=2)
        assert [task.id for task in page] == [tasks[7].id, tasks[6].id, tasks[5].id]
        assert total == 10
        completed, completed_total = await store.page(
            status=TaskStatus.COMPLETED, limit=100, offset=0
        )
        assert completed_total == 5
        assert [task.id for task in completed] == [tasks[n].id for n in (9, 7, 5, 3, 1)]
        await store.close()

    asyncio.run(scenario())


def test_update_returns_the_saved_task_and_round_trips_types(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteTaskStore(tmp_path / "db.sqlite3")
        await store.add(_task(1))
        finished = EPOCH + timedelta(hours=1)
        updated = await store.update(
            _task(1).id,
            status=TaskStatus.COMPLETED,
            progress=100.0,
            filesize=42,
            finished_at=finished,
        )
        assert updated is not None
        assert updated.status is TaskStatus.COMPLETED
        assert updated.finished_at == finished
        assert updated.filesize == 42
        assert await store.update("missing", progress=1.0) is None
        await store.close()

    asyncio.run(scenario())


def test_tasks_survive_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"

    async def write() -> None:
        store = SqliteTaskStore(path)
        await store.add(_task(1, TaskStatus.DOWNLOADING))
        await store.add(_task(2))
        await store.close()

    async def read() -> list[Task]:
        store = SqliteTaskStore(path)
        found = await store.with_status([TaskStatus.DOWNLOADING, TaskStatus.QUEUED])
        await store.close()
        return found

    asyncio.run(write())
    assert [task.id for task in asyncio.run(read())] == [_task(1).id, _task(2).id]


def test_database_uses_wal_journal(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"

    async def create() -> None:
        store = SqliteTaskStore(path)
        await store.open()
        await store.close()

    asyncio.run(create())
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_delete_reports_whether_a_task_was_there(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteTaskStore(tmp_path / "db.sqlite3")
        await store.add(_task(1))
        assert await store.delete(_task(1).id) is True
        assert await store.delete(_task(1).id) is False
        assert await store.get(_task(1).id) is None
        await store.close()

    asyncio.run(scenario())
