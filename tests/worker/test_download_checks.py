"""What arrives is checked while it arrives: a download past OFFLINETUBE_MAX_FILESIZE ends
too_large, one that would eat into OFFLINETUBE_MIN_FREE_BYTES ends disk_full, and a text
playlist sent in place of media is refused before ffmpeg can open what it lists."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from offlinetube_api.worker.download_checks import (
    DisguisedPlaylist,
    DownloadChecks,
    NotEnoughSpace,
    TooLarge,
    playlist_kind,
)
from tests.fixtures.disks import tmpfs
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

MiB = 1024 * 1024
MEDIA_FORMAT = {"format_id": "0"}  # what tells a video or audio format from a subtitle


def _downloading(filename: str, downloaded: int, total: int | None = None) -> dict[str, object]:
    return {
        "status": "downloading",
        "filename": filename,
        "downloaded_bytes": downloaded,
        "total_bytes": total,
        "info_dict": MEDIA_FORMAT,
    }


def _checks(
    *, free: list[int], max_filesize: int | None = None, reserve: int = 0
) -> DownloadChecks:
    """Free space is read from `free`, which the test changes as "the disk fills up"."""
    return DownloadChecks(
        folder="/unused",
        max_filesize=max_filesize,
        min_free_bytes=reserve,
        free_bytes=lambda folder: free[0],
    )


def test_reserve_crossed_while_a_stream_of_unknown_size_arrives_stops_it() -> None:
    free = [10 * MiB]
    checks = _checks(free=free, reserve=8 * MiB)
    checks(_downloading("v.mp4", 1 * MiB))
    free[0] = 8 * MiB - 1  # the download (or another writer) took the space meanwhile

    with pytest.raises(NotEnoughSpace, match=r"only 8\.00MiB is free"):
        checks(_downloading("v.mp4", 3 * MiB))


def test_a_known_size_that_would_cross_the_reserve_stops_at_once() -> None:
    checks = _checks(free=[10 * MiB], reserve=8 * MiB)

    with pytest.raises(NotEnoughSpace, match=r"needs about 2\.90MiB more"):
        checks(_downloading("v.mp4", 100 * 1024, total=3 * MiB))


def test_free_space_is_read_again_only_every_64_kib() -> None:
    reads: list[str] = []

    def free_bytes(folder: str) -> int:
        reads.append(folder)
        return 10 * MiB

    checks = DownloadChecks(folder="/d", max_filesize=None, min_free_bytes=0, free_bytes=free_bytes)
    for downloaded in range(1024, 256 * 1024 + 1, 1024):
        checks(_downloading("v.mp4", downloaded))

    assert len(reads) == 4


def test_the_second_part_of_a_merged_format_is_judged_by_what_it_still_needs() -> None:
    checks = _checks(free=[10 * MiB], reserve=8 * MiB)
    checks(_downloading("v.f1.mp4", 5 * MiB, total=5 * MiB))

    with pytest.raises(NotEnoughSpace, match=r"needs about 2\.50MiB more"):
        checks(_downloading("v.f2.m4a", 512 * 1024, total=3 * MiB))


def test_size_cap_counts_every_part_of_a_merged_format() -> None:
    checks = _checks(free=[100 * MiB], max_filesize=3 * MiB)
    checks(_downloading("v.f1.mp4", 2 * MiB))

    with pytest.raises(TooLarge, match=r"OFFLINETUBE_MAX_FILESIZE is 3\.00MiB"):
        checks(_downloading("v.f2.m4a", int(1.5 * MiB)))


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"#EXTM3U\n#EXTINF:3,\nfile:///etc/clip.ts\n", "an M3U/HLS playlist"),
        (b"\xef\xbb\xbf\n  #EXTM3U\nclip.ts\n", "an M3U/HLS playlist"),
        (b"ffconcat version 1.0\nfile /etc/clip.ts\n", "an ffconcat script"),
        (b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">', "a DASH manifest"),
        (b"<CompositionPlaylist xmlns='urn:smpte'>", "an IMF composition playlist"),
        (b"v=0\no=- 0 0 IN IP4 127.0.0.1\n", "an SDP session description"),
    ],
)
def test_text_playlists_are_recognised(tmp_path: Path, body: bytes, kind: str) -> None:
    path = tmp_path / "video.mp4"
    path.write_bytes(body)

    assert playlist_kind(path) == kind
    with pytest.raises(DisguisedPlaylist, match=kind):
        DownloadChecks(folder=str(tmp_path), max_filesize=None, min_free_bytes=0)(
            {"status": "finished", "filename": str(path), "info_dict": MEDIA_FORMAT}
        )


def test_media_and_subtitles_are_not_playlists(media_dir: Path) -> None:
    for name in ("clip.mp4", "clip.webm", "clip.ts", "thumb.jpg", "subs.en.vtt"):
        assert playlist_kind(media_dir / name) is None, name


@pytest.fixture
def secret_clip(tmp_path: Path, media_dir: Path) -> Path:
    """A clip outside every folder of the service, that no download may read."""
    secret = tmp_path / "outside" / "secret.ts"
    secret.parent.mkdir()
    shutil.copy(media_dir / "clip.ts", secret)
    return secret


def _files_under(*folders: Path) -> list[Path]:
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


@pytest.mark.parametrize("extra", [{}, {"audio_only": True}], ids=["video", "audio"])
def test_a_playlist_served_as_a_video_is_refused_and_no_local_file_is_read(
    service: RunningService, site: FixtureSite, secret_clip: Path, extra: dict[str, object]
) -> None:
    """Before: saved as video__<id>.m3u, then remuxed (or its audio extracted) by ffmpeg,
    which read the local files it listed and served the clip back."""
    disguised = site.url("/disguised/clip.m3u?" + urlencode({"entry": secret_clip.as_uri()}))

    task = service.download_and_wait(site.page_url(video=disguised), **extra)

    assert (task["status"], task["error_kind"], task["attempts"]) == (
        "failed",
        "unsupported",
        1,
    )
    assert task["error"] == (
        "Refused: the site sent an M3U/HLS playlist in place of media; ffmpeg would open the "
        "files and addresses it lists"
    )
    settings = service.settings
    assert _files_under(settings.downloads_dir, settings.thumbnails_dir) == []


@pytest.mark.parametrize("route", ["/unsized/clip.mp4", "/media/clip.mp4"])
def test_download_larger_than_max_filesize_fails_too_large(
    make_service: ServiceFactory, site: FixtureSite, route: str
) -> None:
    """The clip is about 196 KB; without a Content-Length only the bytes can tell."""
    service = make_service(max_filesize=100_000)

    task = service.download_and_wait(site.page_url(video=site.url(route)))

    assert (task["status"], task["error_kind"], task["attempts"]) == ("failed", "too_large", 1)
    assert "OFFLINETUBE_MAX_FILESIZE is 97.66KiB" in task["error"]
    assert _files_under(service.settings.downloads_dir) == []


def test_download_under_max_filesize_completes(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(max_filesize=10 * MiB)

    task = service.download_and_wait(site.page_url(video=site.url("/unsized/clip.mp4")))

    assert (task["status"], task["error"]) == ("completed", None)


TMPFS_BYTES = 1 * MiB


@pytest.fixture
def one_mib_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB file system."""
    with tmpfs(tmp_path / "one-mib-disk", TMPFS_BYTES) as mount_point:
        yield mount_point


@pytest.mark.parametrize("route", ["/unsized/clip.mp4", "/media/clip.mp4"])
def test_download_that_would_cross_the_reserve_ends_disk_full_and_cleans_up(
    make_service: ServiceFactory, site: FixtureSite, one_mib_disk: Path, route: str
) -> None:
    """The clip (about 196 KB) fits the disk but not with 900 KiB kept free. Before: with no
    size known in advance, it was downloaded to the end, deep into the reserve."""
    service = make_service(downloads_dir=one_mib_disk, min_free_bytes=900 * 1024)

    task = service.download_and_wait(site.page_url(video=site.url(route)))

    assert (task["status"], task["error_kind"], task["attempts"]) == ("failed", "disk_full", 1)
    assert "Not enough disk space" in task["error"]
    assert "900.00KiB must stay free" in task["error"]
    assert _files_under(one_mib_disk) == []
    assert service.client.get("/api/health").json()["status"] == "ok"


def _subtitled_page(site: FixtureSite, subtitles: str) -> str:
    query = {"video": site.url("/media/clip.mp4"), "lang": "en", "subs": subtitles}
    return site.url(f"/html5?{urlencode(query)}")


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("/media/huge.en.vtt", "the file is larger than 10 MiB"),
        ("/unsized/huge.en.vtt", "the file is larger than 10 MiB"),
        (
            "/disguised/en.vtt?" + urlencode({"entry": "file:///etc/clip.ts", "type": "text/vtt"}),
            "the site sent an M3U/HLS playlist, not subtitles",
        ),
    ],
    ids=["over-10-mib", "over-10-mib-unsized", "playlist"],
)
def test_subtitles_over_10_mib_or_not_subtitles_are_skipped_with_a_warning(
    service: RunningService, site: FixtureSite, route: str, reason: str
) -> None:
    task = service.download_and_wait(_subtitled_page(site, site.url(route)), subtitles=["en"])

    assert (task["status"], task["error"]) == ("completed", None)
    assert task["subtitles"] == []
    assert task["warnings"] == [f'Subtitles "en" skipped: they could not be fetched ({reason})']
    assert list(service.settings.downloads_dir.glob("*.vtt")) == []
