"""Checks on the files yt-dlp writes, made while they arrive (as a progress hook), before ffmpeg
or anything else reads them: the size cap, the free-space reserve, and no text playlist in place
of media. Subtitles pass through the same hook: one over MAX_SUBTITLE_BYTES or that is a
playlist is refused alone, and skipped with a warning (worker/subtitles.py).

A playlist is refused because ffmpeg would open what it lists: an M3U of `file:///...` entries
saved as the "video" makes the remux read local files, and a protocol whitelist cannot stop that
(those are files too). Every ffmpeg demuxer that opens other files or addresses (HLS, DASH, IMF,
concat, SDP) reads a text manifest, recognised here by its opening."""

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yt_dlp.utils import format_bytes

from offlinetube_api.models import ErrorKind

_HEAD_BYTES = 4096
_PLAYLISTS = (
    ("an M3U/HLS playlist", re.compile(rb"\A(?:\xef\xbb\xbf)?\s*#EXTM3U")),
    ("an ffconcat script", re.compile(rb"\A(?:\xef\xbb\xbf)?\s*ffconcat\s")),
    ("an SDP session description", re.compile(rb"\A(?:\xef\xbb\xbf)?\s*v=0\s")),
    ("a DASH manifest", re.compile(rb"<(?:\w+:)?MPD[\s>]")),
    ("an IMF composition playlist", re.compile(rb"<(?:\w+:)?CompositionPlaylist[\s>]")),
)
# Free space is read again after every this many bytes: a statvfs per block would cost more than
# the download, and the reserve is never overshot by more than this.
DISK_CHECK_INTERVAL_BYTES = 64 * 1024
MAX_SUBTITLE_BYTES = 10 * 1024 * 1024


class RefusedDownload(Exception):
    """A check stopped the download; `kind` says why to the retry policy."""

    kind = ErrorKind.UNKNOWN


class DisguisedPlaylist(RefusedDownload):
    """A downloaded file is a text playlist or manifest, not media."""

    kind = ErrorKind.UNSUPPORTED


class TooLarge(RefusedDownload):
    """The download grew past OFFLINETUBE_MAX_FILESIZE."""

    kind = ErrorKind.TOO_LARGE


class NotEnoughSpace(RefusedDownload):
    """The download would leave less than OFFLINETUBE_MIN_FREE_BYTES free."""

    kind = ErrorKind.DISK_FULL


class SubtitleRefused(ValueError):
    """A subtitle file that will not be kept. A ValueError, so yt-dlp reports it as this
    language's failure, which skips the language with a warning, not the video."""


def playlist_kind(path: Path) -> str | None:
    """What sort of playlist the file is ("an M3U/HLS playlist"...), or None for anything else."""
    try:
        with path.open("rb") as file:
            head = file.read(_HEAD_BYTES)
    except OSError:
        return None
    return next((kind for kind, opening in _PLAYLISTS if opening.search(head)), None)


def check_space(free: int, needed: int, reserve: int) -> None:
    """Raises NotEnoughSpace when `needed` more bytes would leave less than `reserve` free."""
    if free - needed < reserve:
        raise NotEnoughSpace(
            f"Not enough disk space: the download needs about {format_bytes(needed)} more and "
            f"{format_bytes(reserve)} must stay free, but only {format_bytes(free)} is free"
        )


class DownloadChecks:
    """A yt-dlp progress hook that stops the download (by raising) when a file grows past
    `max_filesize` bytes (all parts of a merged format together), when the disk of `folder`
    would keep less than `min_free_bytes` free, or when a finished file is a playlist.
    `free_bytes` reads the free space (injectable so a test can fake the disk)."""

    def __init__(
        self,
        *,
        folder: str,
        max_filesize: int | None,
        min_free_bytes: int,
        free_bytes: Callable[[str], int] = lambda folder: shutil.disk_usage(folder).free,
    ) -> None:
        self._folder = folder
        self._max_filesize = max_filesize
        self._min_free_bytes = min_free_bytes
        self._free_bytes = free_bytes
        self._bytes_by_file: dict[str, int] = {}
        self._next_disk_check = 0

    def __call__(self, status: dict[str, Any]) -> None:
        if "format_id" not in (status.get("info_dict") or {}):  # a subtitle, not a format
            self._check_subtitle(status)
        elif status.get("status") == "finished":
            self._refuse_playlist(status.get("filename"))
        elif status.get("status") == "downloading":
            this_file = status.get("downloaded_bytes") or 0
            self._bytes_by_file[str(status.get("filename"))] = this_file
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            self._check_size(total)
            self._check_disk(max(int(total or 0) - this_file, 0))

    def _check_size(self, total: float | None) -> None:
        if self._max_filesize is None:
            return
        size = max(sum(self._bytes_by_file.values()), int(total or 0))
        if size > self._max_filesize:
            raise TooLarge(
                f"The download is larger than the limit: {format_bytes(size)} or more, "
                f"OFFLINETUBE_MAX_FILESIZE is {format_bytes(self._max_filesize)}"
            )

    def _check_disk(self, remaining: int) -> None:
        """`remaining`: bytes of the current file still to come, 0 when its size is unknown."""
        downloaded = sum(self._bytes_by_file.values())
        if downloaded < self._next_disk_check:
            return
        self._next_disk_check = downloaded + DISK_CHECK_INTERVAL_BYTES
        check_space(self._free_bytes(self._folder), remaining, self._min_free_bytes)

    @staticmethod
    def _check_subtitle(status: dict[str, Any]) -> None:
        size = max(status.get("downloaded_bytes") or 0, int(status.get("total_bytes") or 0))
        if size > MAX_SUBTITLE_BYTES:
            raise SubtitleRefused(f"the file is larger than {MAX_SUBTITLE_BYTES // 1024**2} MiB")
        filename = status.get("filename")
        if status.get("status") == "finished" and filename:
            kind = playlist_kind(Path(filename))
            if kind is not None:
                raise SubtitleRefused(f"the site sent {kind}, not subtitles")

    @staticmethod
    def _refuse_playlist(filename: str | None) -> None:
        kind = playlist_kind(Path(filename)) if filename else None
        if kind is not None:
            raise DisguisedPlaylist(
                f"Refused: the site sent {kind} in place of media; ffmpeg would open the "
                "files and addresses it lists"
            )
