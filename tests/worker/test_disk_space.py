"""A download that would fill the disk fails as disk_full, leaves nothing behind, and the
service stays up."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.disks import tmpfs
from tests.fixtures.service import ServiceFactory
from tests.fixtures.site import FixtureSite

TMPFS_BYTES = 96 * 1024  # the fixture clip is about 196 KB


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 96 KiB file system."""
    with tmpfs(tmp_path / "small-disk", TMPFS_BYTES) as mount_point:
        yield mount_point


def test_download_that_does_not_fit_the_reserve_fails_before_starting(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(min_free_bytes=2**60)

    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))

    assert (task["status"], task["error_kind"], task["attempts"]) == ("failed", "disk_full", 1)
    assert "Not enough disk space" in task["error"]
    assert list(service.settings.downloads_dir.glob("video__*")) == []
    assert service.client.get("/api/health").json()["status"] == "ok"


def test_disk_filling_up_mid_download_fails_as_disk_full_and_cleans_up(
    make_service: ServiceFactory, site: FixtureSite, small_disk: Path
) -> None:
    service = make_service(downloads_dir=small_disk, min_free_bytes=0)

    # Without a Content-Length, nothing tells in advance that the clip will not fit.
    task = service.download_and_wait(site.page_url(video=site.url("/unsized/clip.mp4")))

    assert (task["status"], task["error_kind"]) == ("failed", "disk_full"), task["error"]
    assert "No space left on device" in task["error"]
    assert [path.name for path in small_disk.rglob("*") if path.is_file()] == []
    assert service.client.get("/api/health").json()["status"] == "ok"
