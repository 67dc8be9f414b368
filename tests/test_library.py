"""The library on disk outlives its database: metadata sidecars, `offlinetube-api rebuild`, and
a warning when the database is empty but the folders are not."""

import json
import logging
import shutil
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from offlinetube_api.library import read_sidecar, write_sidecar
from offlinetube_api.models import Task, TaskStatus
from tests.fixtures.postgres import Databases
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite


def subtitled_url(site: FixtureSite) -> str:
    return site.url(
        f"/html5?video={site.url('/media/clip.mp4')}&lang=en&subs={site.url('/media/subs.en.vtt')}"
    )


def finish(client: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/download", json={"url": url, "force": True, **extra})
    task_id = response.json()["id"]

    def done() -> dict[str, Any] | None:
        task: dict[str, Any] = client.get(f"/api/downloads/{task_id}").json()
        return task if task["status"] in ("completed", "failed") else None

    task: dict[str, Any] = wait_until(done, what="the download")
    assert task["status"] == "completed", task["error"]
    return task


def delete_database(installation: ServiceProcess) -> None:
    for path in installation.database.parent.glob("offlinetube.sqlite3*"):
        path.unlink()


def listing(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {task["id"]: task for task in client.get("/api/downloads").json()}


def assert_restored(client: httpx.Client, before: dict[str, Any]) -> None:
    after = client.get(f"/api/downloads/{before['id']}").json()
    assert after == before
    assert client.get(after["stream_url"]).status_code == 200
    if after["thumbnail"]:
        assert client.get(after["thumbnail"]).status_code == 200
    for subtitle in after["subtitles"]:
        assert client.get(subtitle["url"]).status_code == 200


@pytest.mark.stores("sqlite")  # the SQLite file deleted, or a backup of it restored
def test_deleted_database_warns_at_start_and_rebuild_restores_the_library(
    installation: ServiceProcess, site: FixtureSite
) -> None:
    client = installation.start()
    with_thumbnail = finish(
        client, site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.png"))
    )
    with_subtitles = finish(client, subtitled_url(site), subtitles=["en"], title="Mine")
    installation.terminate()
    delete_database(installation)
    older = installation.downloads / f"video__{uuid.uuid4()}.mp4"  # from before sidecars
    shutil.copyfile(installation.downloads / with_thumbnail["filename"], older)

    client = installation.start()

    assert listing(client) == {}
    warning = "holds no tasks, but" in installation.log.read_text()
    assert warning and "offlinetube-api rebuild" in installation.log.read_text()
    installation.terminate()

    rebuilt = installation.command("rebuild")

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.strip().startswith("restored 2 tasks from")
    assert rebuilt.stderr == f"skipped {older.name}: it has no metadata file to restore it from\n"
    client = installation.start()
    assert list(listing(client)) == [with_subtitles["id"], with_thumbnail["id"]]  # newest first
    assert_restored(client, with_thumbnail)
    assert_restored(client, with_subtitles)


@pytest.mark.stores("sqlite")  # the SQLite file deleted, or a backup of it restored
def test_rebuild_after_restoring_an_old_backup_adds_only_what_it_lacks(
    installation: ServiceProcess, site: FixtureSite, tmp_path: Path
) -> None:
    client = installation.start()
    old = finish(client, site.page_url(video=site.url("/media/clip.mp4")))
    assert installation.command("backup", str(tmp_path / "old.sqlite3")).returncode == 0
    new = finish(client, subtitled_url(site), subtitles=["en"])
    installation.terminate()
    shutil.copyfile(tmp_path / "old.sqlite3", installation.database)

    rebuilt = installation.command("rebuild")

    assert rebuilt.stdout.strip().endswith(f"1 were already in {installation.database}")
    assert rebuilt.stdout.startswith("restored 1 tasks")
    client = installation.start()
    assert set(listing(client)) == {old["id"], new["id"]}
    assert_restored(client, new)


def sidecar(service: RunningService, task_id: str) -> Path:
    return Path(service.settings.downloads_dir) / ".meta" / f"{task_id}.json"


def test_finished_download_keeps_a_sidecar_that_is_never_served_and_goes_with_removal(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    saved = json.loads(sidecar(service, task["id"]).read_text())
    assert (saved["id"], saved["status"], saved["filename"]) == (
        task["id"],
        "completed",
        task["filename"],
    )
    for path in (f".meta/{task['id']}.json", f".meta%2F{task['id']}.json", f"{task['id']}.json"):
        assert service.client.get(f"/api/stream/{path}").status_code == 404

    assert service.client.delete(f"/api/downloads/{task['id']}/remove").status_code == 200

    assert not sidecar(service, task["id"]).exists()


def test_no_warning_when_the_database_knows_the_library(
    make_service: ServiceFactory, site: FixtureSite, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service()
    service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    service.stop()
    caplog.set_level(logging.WARNING, logger="offlinetube_api")

    again = make_service(
        downloads_dir=service.settings.downloads_dir,
        thumbnails_dir=service.settings.thumbnails_dir,
        data_dir=service.settings.data_dir,
    )
    again.stop()

    assert "holds no tasks" not in caplog.text


def a_finished_task(**changes: Any) -> Task:
    task_id = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "id": task_id,
        "url": "https://example.org/watch?v=1",
        "format": None,
        "status": TaskStatus.COMPLETED,
        "created_at": datetime.now(UTC),
        "filename": f"video__{task_id}.mp4",
    }
    return Task(**(fields | changes))


@pytest.mark.parametrize("filename", ["../../etc/passwd", "video__{other}.mp4", "notes.txt"])
def test_a_sidecar_naming_another_file_is_ignored(tmp_path: Path, filename: str) -> None:
    task = a_finished_task()
    crafted = replace(task, filename=filename.format(other=uuid.uuid4()))
    write_sidecar(tmp_path, crafted)

    assert read_sidecar(tmp_path / ".meta" / f"{task.id}.json") is None
    write_sidecar(tmp_path, task)
    assert read_sidecar(tmp_path / ".meta" / f"{task.id}.json") == task


def test_a_sidecar_that_cannot_be_written_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".meta").write_text("a file where the folder should be")

    write_sidecar(tmp_path, task := a_finished_task())

    assert f"task {task.id}: no metadata file" in caplog.text


def test_rebuild_restores_the_library_into_postgresql(
    postgres_databases: Databases, site: FixtureSite, tmp_path: Path
) -> None:
    """Distributed mode: the database lost and replaced by an empty one, `rebuild` fills the
    PostgreSQL database the replicas use, and makes no SQLite file."""
    lost, fresh = postgres_databases.new(), postgres_databases.new()
    installation = ServiceProcess(tmp_path, allow_private_urls="true", database_url=lost)
    try:
        client = installation.start()
        task = finish(
            client,
            site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.png")),
        )
        installation.terminate()
        installation.settings["database_url"] = fresh

        rebuilt = installation.command("rebuild")

        assert (rebuilt.returncode, rebuilt.stderr) == (0, "")
        assert rebuilt.stdout == (
            f"restored 1 tasks from {installation.downloads}; 0 were already in {fresh}\n"
        )
        assert not installation.database.exists()
        client = installation.start()
        assert list(listing(client)) == [task["id"]]
        assert_restored(client, task)
    finally:
        installation.stop()
        for url in (lost, fresh):
            postgres_databases.drop(url)


def test_backup_in_distributed_mode_points_to_pg_dump(tmp_path: Path) -> None:
    url = "postgresql://tube:s3cret@db.lan:5432/tube"  # refused before any connection
    installation = ServiceProcess(tmp_path, database_url=url)

    backed_up = installation.command("backup", str(tmp_path / "copy.sqlite3"))

    assert (backed_up.returncode, backed_up.stdout) == (2, "")
    assert backed_up.stderr == (
        "offlinetube-api backup copies embedded mode's SQLite file; in distributed mode the "
        "library's database is PostgreSQL at postgresql://tube:***@db.lan:5432/tube: back it "
        "up with pg_dump\n"
    )
    assert list(tmp_path.iterdir()) == []
