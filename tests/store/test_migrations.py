"""The migration runner: one history for both dialects; SQLite databases of every earlier
release are recognised and carried forward with their tasks."""

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from offlinetube_api.models import TaskStatus
from offlinetube_api.store import SqliteTaskStore
from offlinetube_api.store.migrations import migrate_sqlite, steps
from offlinetube_api.store.rows import Dialect
from offlinetube_api.transitions import Started
from tests.store.legacy_sqlite import make_legacy_database

LEGACY_ROWS = [
    ("00000000-0000-4000-8000-000000000001", "completed"),
    ("00000000-0000-4000-8000-000000000002", "queued"),
    ("00000000-0000-4000-8000-000000000003", "completed"),
]


def _history(path: Path) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()


def test_both_dialects_share_one_history() -> None:
    sqlite_steps = [(step.version, step.name) for step in steps(Dialect.SQLITE)]
    postgresql_steps = [(step.version, step.name) for step in steps(Dialect.POSTGRESQL)]
    assert sqlite_steps == postgresql_steps
    assert sqlite_steps[:6] == [
        (1, "tasks"),
        (2, "warnings_and_sources"),
        (3, "page_item"),
        (4, "process_group"),
        (5, "task_counts"),
        (6, "task_events"),
    ]


def test_a_fresh_database_gets_every_step_and_a_second_run_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        applied = migrate_sqlite(db)
        assert [step.version for step in applied] == [s.version for s in steps(Dialect.SQLITE)]
        assert migrate_sqlite(db) == []
    assert _history(path) == [(step.version, step.name) for step in steps(Dialect.SQLITE)]


@pytest.mark.parametrize("user_version", [0, 2, 4])
def test_a_database_of_an_earlier_release_keeps_its_tasks(
    tmp_path: Path, user_version: int
) -> None:
    path = tmp_path / "db.sqlite3"
    make_legacy_database(path, user_version)
    with closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO tasks (id, url, format, status, created_at, title) "
            "VALUES (?, 'https://example.com/v', NULL, ?, ?, 'Old')",
            [(task_id, status, datetime.now(UTC).isoformat()) for task_id, status in LEGACY_ROWS],
        )

    async def reopen() -> None:
        store = SqliteTaskStore(path)
        await store.open()
        page = await store.page(status=None, limit=10)
        assert [task.id for task in page.tasks] == [task_id for task_id, _ in reversed(LEGACY_ROWS)]
        assert page.total == 3
        assert await store.count([TaskStatus.COMPLETED]) == 2
        assert all(task.title == "Old" and task.warnings == () for task in page.tasks)
        found = await store.page(status=None, limit=10, words=["old"])  # titles made searchable
        assert found.total == 3
        started = await store.apply(LEGACY_ROWS[1][0], Started(attempt=1))
        assert started is not None and started.status is TaskStatus.DOWNLOADING
        assert [event.task for event in await store.events_after(0)] == [started]
        await store.close()

    asyncio.run(reopen())
    recorded = _history(path)
    assert recorded == [(step.version, step.name) for step in steps(Dialect.SQLITE)]


def test_a_failing_step_leaves_nothing_half_done(tmp_path: Path) -> None:
    """A step that fails midway (here: its table exists already) is rolled back whole and not
    recorded; the next start tries it again."""
    path = tmp_path / "db.sqlite3"
    make_legacy_database(path, 4)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE task_events (id INTEGER PRIMARY KEY)")
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        with pytest.raises(sqlite3.OperationalError, match="task_events already exists"):
            migrate_sqlite(db)
        assert not db.in_transaction
        db.execute("DROP TABLE task_events")
        later = [step.version for step in steps(Dialect.SQLITE) if step.version >= 6]
        assert [step.version for step in migrate_sqlite(db)] == later
    assert (6, "task_events") in _history(path)
