"""The database file itself: a damaged one stops the start with one line, a clean stop leaves
everything in the main file, backups are safe while the service runs, no handle leaks."""

import asyncio
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from offlinetube_api.config import Settings
from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.security.keys import Scope
from offlinetube_api.store import SqliteTaskStore
from offlinetube_api.store_upkeep import check_database
from tests.fixtures.disks import tmpfs
from tests.fixtures.keys import create_key
from tests.fixtures.service import ServiceFactory, wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite

# The SQLite file itself: its integrity check, backups, WAL and handles. Distributed mode's
# PostgreSQL has its own tools for these (pg_dump, its WAL), outside the service.
pytestmark = pytest.mark.stores("sqlite")

PAGE = 4096


def fill_database(path: Path, tasks: int) -> None:
    """A database as the service leaves it after a clean stop, with `tasks` completed tasks."""

    async def fill() -> None:
        store = SqliteTaskStore(path)
        await store.open()
        for number in range(tasks):
            task_id = str(uuid.uuid4())
            await store.add(
                Task(
                    id=task_id,
                    url=f"https://example.org/watch?v={number}",
                    format=None,
                    status=TaskStatus.COMPLETED,
                    created_at=datetime.now(UTC),
                    title=f"Video {number}",
                    filename=f"video__{task_id}.mp4",
                )
            )
        await store.close()

    path.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(fill())


def overwrite_index_page(path: Path) -> None:
    """Junk over a page in the middle of the file: the root of the index by URL, which every
    insert touches and no read at start-up needs."""
    with sqlite3.connect(path) as database:
        (root,) = database.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'tasks_by_url'"
        ).fetchone()
    database.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * PAGE)
        file.write(os.urandom(PAGE))


def truncate_to_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def replace_with_junk(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def put_a_folder_in_its_place(path: Path) -> None:
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize(
    "damage",
    [overwrite_index_page, truncate_to_half, replace_with_junk, put_a_folder_in_its_place],
)
def test_damaged_database_stops_the_start_with_one_line_and_exit_code_2(
    installation: ServiceProcess, damage: Callable[[Path], None]
) -> None:
    fill_database(installation.database, tasks=500)
    damage(installation.database)

    completed = installation.command("serve")

    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert str(installation.database) in lines[0]
    assert "backup" in lines[0] and "offlinetube-api rebuild" in lines[0]


def test_read_only_database_stops_the_start_with_one_line_and_exit_code_2(
    installation: ServiceProcess,
) -> None:
    fill_database(installation.database, tasks=50)
    # Root ignores file modes, so as root the file is made immutable (chattr +i) instead.
    as_root = os.geteuid() == 0
    if as_root:
        subprocess.run(["chattr", "+i", str(installation.database)], check=True)
    else:
        installation.database.chmod(0o444)
    try:
        completed = installation.command("serve")
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(installation.database)], check=True)

    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert str(installation.database) in lines[0] and "offlinetube-api rebuild" in lines[0]


def test_healthy_database_passes_the_check_and_the_service_starts(
    installation: ServiceProcess,
) -> None:
    fill_database(installation.database, tasks=500)

    client = installation.start()

    assert client.get("/api/downloads").headers["x-total-count"] == "500"
    assert client.get("/api/health").json()["status"] == "ok"


def test_health_reports_a_database_that_refuses_writes(
    make_service: ServiceFactory, tmp_path: Path, site: FixtureSite
) -> None:
    """Started without the command line's check, as an embedding app would: reads work,
    writes fail, and health and the failing request both say why."""
    database = tmp_path / "service-0" / "data" / "offlinetube.sqlite3"
    fill_database(database, tasks=200)
    overwrite_index_page(database)
    service = make_service()
    assert service.client.get("/api/downloads").headers["x-total-count"] == "200"

    refused = service.client.post("/api/download", json={"url": site.url("/watch?v=x")})

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "30"
    assert "malformed" in refused.json()["detail"]
    health = service.client.get("/api/health").json()
    assert health["status"] == "degraded"
    assert health["database"]["ok"] is False
    assert "malformed" in health["database"]["error"]


def test_clean_stop_leaves_every_task_in_the_main_file(
    installation: ServiceProcess, site: FixtureSite, tmp_path: Path
) -> None:
    client = installation.start()
    url = site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"))
    ids = [
        client.post("/api/download", json={"url": url, "force": True}).json()["id"] for _ in "ab"
    ]
    for task_id in ids:
        wait_until(
            lambda task_id=task_id: (
                client.get(f"/api/downloads/{task_id}").json()["status"] == "completed"
            ),
            what="the downloads",
        )

    assert installation.terminate() in (0, -15)

    wal = installation.database.with_name("offlinetube.sqlite3-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    main_file_alone = tmp_path / "copy.sqlite3"
    shutil.copyfile(installation.database, main_file_alone)
    with sqlite3.connect(main_file_alone) as copy:
        rows = copy.execute("SELECT id, status FROM tasks").fetchall()
    copy.close()
    assert sorted(rows) == sorted((task_id, "completed") for task_id in ids)


def test_backup_while_the_service_runs_restores_into_a_new_service(
    installation: ServiceProcess, site: FixtureSite, make_service: ServiceFactory, tmp_path: Path
) -> None:
    client = installation.start()
    done = client.post(
        "/api/download", json={"url": site.page_url(video=site.url("/media/clip.mp4"))}
    ).json()["id"]
    wait_until(lambda: client.get(f"/api/downloads/{done}").json()["status"] == "completed")
    running = client.post(
        "/api/download", json={"url": site.page_url(video=site.url("/slow/40000/clip.mp4"))}
    ).json()["id"]
    wait_until(lambda: client.get(f"/api/downloads/{running}").json()["downloaded_bytes"] or 0)
    target = tmp_path / "service-0" / "data" / "offlinetube.sqlite3"
    target.parent.mkdir(parents=True)

    backed_up = installation.command("backup", str(target))  # while progress is being saved

    assert backed_up.returncode == 0, backed_up.stderr
    assert backed_up.stdout.strip() == f"backed up 2 tasks from {installation.database} to {target}"
    assert client.get("/api/health").json()["status"] == "ok"
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    copy.close()
    installation.stop()
    # Restored as a user would: the copy in place of the database, beside the same library.
    restored = make_service(
        downloads_dir=installation.downloads, thumbnails_dir=installation.root / "thumbnails"
    ).client
    assert restored.get(f"/api/downloads/{done}").json()["status"] == "completed"
    assert restored.get(f"/api/downloads/{running}").status_code == 200


def test_backup_refuses_to_overwrite_the_database_and_needs_one(
    installation: ServiceProcess,
) -> None:
    nothing = installation.command("backup", str(installation.root / "copy.sqlite3"))
    assert nothing.returncode == 1
    assert nothing.stderr.strip() == f"There is no database at {installation.database}"

    fill_database(installation.database, tasks=1)
    itself = installation.command("backup", str(installation.database))
    assert itself.returncode == 1
    assert "is the database itself" in itself.stderr


def test_backup_into_a_folder_or_nowhere_is_refused_in_one_line_and_writes_nothing(
    installation: ServiceProcess, tmp_path: Path
) -> None:
    fill_database(installation.database, tasks=1)
    folder = tmp_path / "backups"
    folder.mkdir()

    into_folder = installation.command("backup", str(folder))
    nowhere = installation.command("backup", str(tmp_path / "missing" / "copy.sqlite3"))

    assert into_folder.returncode == 1 and into_folder.stderr.strip().splitlines() == [
        f"{folder} is a folder; name the file to write in it"
    ]
    assert nowhere.returncode == 1 and nowhere.stderr.strip().splitlines() == [
        f"There is no folder {tmp_path / 'missing'} to write copy.sqlite3 in"
    ]
    assert list(folder.iterdir()) == [] and not (tmp_path / ".backups.partial").exists()


def test_backup_into_a_read_only_folder_is_refused_in_one_line(
    installation: ServiceProcess, tmp_path: Path
) -> None:
    fill_database(installation.database, tasks=1)

    with tmpfs(tmp_path / "read-only", 1024 * 1024, read_only=True) as folder:
        refused = installation.command("backup", str(folder / "copy.sqlite3"))

    assert refused.returncode == 1 and refused.stderr.strip().splitlines() == [
        f"Cannot write copy.sqlite3 in {folder}: Read-only file system"
    ]


def test_backup_copy_is_private_like_the_database(
    installation: ServiceProcess, tmp_path: Path
) -> None:
    fill_database(installation.database, tasks=1)

    assert installation.command("backup", str(tmp_path / "copy.sqlite3")).returncode == 0

    assert (tmp_path / "copy.sqlite3").stat().st_mode & 0o777 == 0o600


def database_handles(path: Path) -> int:
    """Open file descriptors of this process (the service runs in a thread here) on `path`."""
    fds = Path("/proc/self/fd")
    links = []
    for fd in fds.iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue  # closed meanwhile
    return links.count(str(path.resolve()))


def test_key_checks_leave_no_database_handle_open(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    database = tmp_path / "service-0" / "data" / "offlinetube.sqlite3"
    key = create_key(Settings(data_dir=database.parent), Scope.ADMIN, name="test")
    service = make_service()
    counts = []
    with httpx.Client(base_url=service.base_url, headers={"X-API-Key": key}) as client:
        for _ in range(3):
            for _ in range(10):
                assert client.get("/api/downloads").status_code == 200
            assert client.get("/api/downloads", headers={"X-API-Key": "otk_x_y"}).status_code == 401
            counts.append(database_handles(database))

    # The task store's connection, and at most one descriptor SQLite keeps from a closed
    # connection while another holds a lock on the file (it reuses it for the next open).
    assert counts[0] == counts[-1] <= 2


def test_integrity_check_out_of_time_is_logged_and_the_start_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "offlinetube.sqlite3"
    fill_database(database, tasks=500)

    check_database(database, budget_s=0)

    assert "integrity check of" in caplog.text and "stopped after 0 s" in caplog.text
