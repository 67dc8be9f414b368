"""A downloads folder that refuses writes fails the task as `storage`, names the folder, and
keeps what was downloaded, so a retry once the folder is writable again continues from there."""

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fixtures.service import ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite, Transfer


@contextmanager
def refusing_writes(folder: Path) -> Iterator[None]:
    """The folder refuses writes. Root ignores permissions, so as root the folder and the files
    in it are made immutable (chattr +i), which also stops writes to files already open, as a
    file system that turns read-only does; otherwise the folder is made read-only (chmod)."""
    as_root = os.geteuid() == 0
    targets = [str(folder), *(str(path) for path in folder.iterdir())]
    if as_root:
        subprocess.run(["chattr", "+i", *targets], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", *targets], check=True)
        else:
            folder.chmod(0o755)


def _part_bytes(folder: Path) -> int:
    """How much the .part files in `folder` hold (0 before the first byte arrives)."""
    total = 0
    for part in folder.glob("*.part"):
        with contextlib.suppress(FileNotFoundError):  # renamed meanwhile
            total += part.stat().st_size
    return total


def _media(site: FixtureSite) -> tuple[str, str]:
    path = f"/slow/60000/clip.mp4?test={uuid.uuid4().hex}"
    return site.page_url(video=site.url(path)), path


def _transfers(site: FixtureSite, path: str) -> list[Transfer]:
    return [transfer for transfer in site.transfers if transfer.path == path]


def test_folder_refusing_writes_mid_download_fails_as_storage_and_retry_continues(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service()
    page, path = _media(site)
    task_id = service.download(page)["id"]
    partial = service.settings.downloads_dir / ".incomplete" / task_id
    wait_until(lambda: _part_bytes(partial) > 0, what="the download to be under way")

    with refusing_writes(partial):
        task = service.wait_for_status(task_id, "failed", "completed")
        assert (task["status"], task["error_kind"]) == ("failed", "storage"), task
        assert str(service.settings.downloads_dir.resolve()) in task["error"]
    assert any(partial.iterdir()), "what was downloaded is kept"

    assert service.client.post(f"/api/downloads/{task_id}/retry").status_code == 202
    task = service.wait_for_status(task_id, "completed", "failed")

    assert task["status"] == "completed", task["error"]
    saved = service.settings.downloads_dir / f"video__{task_id}.mp4"
    assert saved.read_bytes() == (site.media_dir / "clip.mp4").read_bytes()
    first, *again = _transfers(site, path)
    assert first.range is None and again and again[0].range, (first, again)


def test_folder_refusing_writes_before_the_download_fails_as_storage(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service()
    incomplete = service.settings.downloads_dir / ".incomplete"
    incomplete.mkdir(parents=True, exist_ok=True)
    page, _ = _media(site)

    with refusing_writes(incomplete):
        task = service.download_and_wait(page)
        assert (task["status"], task["error_kind"]) == ("failed", "storage"), task
        assert f"downloads folder {service.settings.downloads_dir.resolve()}" in task["error"]

    assert service.client.post(f"/api/downloads/{task['id']}/retry").status_code == 202
    assert service.wait_for_status(task["id"], "completed", "failed")["status"] == "completed"
