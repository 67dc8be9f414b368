"""procrastinate's schema: made once by whichever start comes first, refused when the installed
procrastinate has migrations the database lacks."""

import asyncio
from pathlib import Path

import psycopg
import pytest
from packaging.version import Version

from offlinetube_api.queue.procrastinate_queue import ProcrastinateQueue
from offlinetube_api.queue.procrastinate_schema import (
    QueueSchemaOutdated,
    installed_version,
    pending_migrations,
)


def _queue(database_url: str) -> ProcrastinateQueue:
    return ProcrastinateQueue(database_url=database_url, store=None)  # type: ignore[arg-type]


async def _start_and_close(database_url: str, starters: int = 1) -> None:
    queues = [_queue(database_url) for _ in range(starters)]
    try:
        await asyncio.gather(*(queue.start() for queue in queues))
    finally:
        for queue in queues:
            await queue.close()


def _marker(database_url: str) -> str | None:
    with psycopg.connect(database_url) as connection:
        [(marker,)] = connection.execute(
            "SELECT obj_description('procrastinate_jobs'::regclass, 'pg_class')"
        ).fetchall()
    return str(marker) if marker is not None else None


def _set_marker(database_url: str, marker: str | None) -> None:
    with psycopg.connect(database_url) as connection:
        connection.execute(
            psycopg.sql.SQL("COMMENT ON TABLE procrastinate_jobs IS {}").format(marker)
        )


def test_two_first_starts_at_once_make_the_schema_once(postgres_url: str) -> None:
    asyncio.run(_start_and_close(postgres_url, starters=3))
    assert _marker(postgres_url) == f"procrastinate {installed_version()}"


def test_a_later_start_finds_the_schema_made(postgres_url: str) -> None:
    asyncio.run(_start_and_close(postgres_url))
    asyncio.run(_start_and_close(postgres_url))
    assert _marker(postgres_url) == f"procrastinate {installed_version()}"


def test_a_schema_older_than_the_installed_procrastinate_is_refused(postgres_url: str) -> None:
    asyncio.run(_start_and_close(postgres_url))
    _set_marker(postgres_url, "procrastinate 3.0.0")
    with pytest.raises(QueueSchemaOutdated) as refused:
        asyncio.run(_start_and_close(postgres_url))
    message = str(refused.value)
    assert "from 3.0.0" in message
    assert "03.01.00_01_pre_add_heartbeat.sql, 03.01.00_50_post_add_heartbeat.sql" in message
    assert f"COMMENT ON TABLE procrastinate_jobs IS 'procrastinate {installed_version()}'" in (
        message
    )


def test_a_schema_made_by_hand_is_taken_as_the_installed_version(postgres_url: str) -> None:
    asyncio.run(_start_and_close(postgres_url))
    _set_marker(postgres_url, None)
    asyncio.run(_start_and_close(postgres_url))
    assert _marker(postgres_url) == f"procrastinate {installed_version()}"


def test_pending_migrations_are_those_above_the_recorded_version(tmp_path: Path) -> None:
    for name in (
        "02.06.00_01_add_cancel_states.sql",
        "03.04.00_50_post_x.sql",
        "03.04.00_01_pre_x.sql",
        "03.10.01_01_pre_y.sql",
    ):
        (tmp_path / name).touch()
    pending = pending_migrations(Version("3.3.0"), tmp_path)
    assert [path.name for path in pending] == [
        "03.04.00_01_pre_x.sql",
        "03.04.00_50_post_x.sql",
        "03.10.01_01_pre_y.sql",
    ]
    assert pending_migrations(Version("3.10.1"), tmp_path) == []
