"""Small thumbnails kept in memory, so a library page's dozens of `<img>` requests cost a few
`lstat` calls each instead of opening and reading files.

Every lookup stats the files again, in the seed's probe order, and an entry is used only if
the file it came from is still the one on disk (same inode, size, mtime and ctime). So a
removed thumbnail is never served, a replaced one (the worker renames files into place, which
gives a new inode) is read again, and a `.jpg` that appears in front of a cached `.webp` wins
at once. The one change this cannot see is a rewrite in place of the same size within one tick
of the file system's clock; nothing in the service writes thumbnails in place."""

import os
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from offlinetube_api import media

MAX_FILE_BYTES = 512 * 1024  # hqdefault.jpg is ~30 KB, maxresdefault ~200 KB
MAX_TOTAL_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A thumbnail as found on disk; `body` is None when it is too large to keep."""

    path: str
    media_type: str
    size: int
    etag: str
    last_modified: str
    body: bytes | None
    validator: tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns


def _validator(found: os.stat_result) -> tuple[int, int, int, int]:
    return (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


def _describe(path: str, media_type: str, found: os.stat_result, body: bytes | None) -> Thumbnail:
    return Thumbnail(
        path=path,
        media_type=media_type,
        size=found.st_size,
        etag=f'"{found.st_ino:x}-{found.st_mtime_ns:x}-{found.st_size:x}"',
        last_modified=formatdate(found.st_mtime, usegmt=True),
        body=body,
        validator=_validator(found),
    )


class ThumbnailCache:
    """Least recently used thumbnails up to `max_total_bytes`, each at most `max_file_bytes`.
    Safe to use from several threads."""

    def __init__(
        self,
        thumbnails_dir: Path,
        *,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        self._dir = thumbnails_dir
        # Resolved once: the folder is fixed for the life of the service, and resolving it
        # costs one lstat per path component on every request otherwise.
        self._root = os.path.realpath(thumbnails_dir)
        self._max_file = max_file_bytes
        self._max_total = max_total_bytes
        self._entries: OrderedDict[str, Thumbnail] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    @property
    def cached_bytes(self) -> int:
        return self._total

    def probe(self, task_id: str) -> Thumbnail | None:
        """The first of `<id>.jpg`, `.webp`, `.png` that is a regular file inside the folder,
        from memory when it has not changed. Blocking: a few `lstat` calls, and a read when
        the file is new or changed."""
        if not media.is_task_id(task_id):
            return None
        for ext, media_type in media.THUMBNAIL_FORMATS.items():
            path = os.path.join(self._root, f"{task_id}.{ext}")
            try:
                found = os.lstat(path)
            except OSError:
                self._forget(path)
                continue
            if stat.S_ISREG(found.st_mode):
                current = self._current(path, media_type, found)
            elif stat.S_ISLNK(found.st_mode):
                current = self._linked(task_id, ext, media_type)
            else:
                current = None  # a directory or a device named like a thumbnail
            if current is not None:
                return current
        return None

    def _linked(self, task_id: str, ext: str, media_type: str) -> Thumbnail | None:
        """A symlink is followed only if it stays inside the folder; served from disk, since
        its target can change without the link changing."""
        target = media.resolve_inside(self._dir, f"{task_id}.{ext}")
        try:
            if target is None or not target.is_file():
                return None
            return _describe(str(target), media_type, target.stat(), None)
        except OSError:
            return None

    def _current(self, path: str, media_type: str, found: os.stat_result) -> Thumbnail | None:
        with self._lock:
            cached = self._entries.get(path)
            if cached is not None and cached.validator == _validator(found):
                self._entries.move_to_end(path)
                return cached
        if found.st_size > self._max_file:
            return _describe(path, media_type, found, None)
        try:
            return self._load(path, media_type)
        except OSError:  # gone, or swapped for a symlink, since the lstat
            return None

    def _load(self, path: str, media_type: str) -> Thumbnail:
        # The stat that describes the bytes is taken from the open file, so the entry can
        # never pair new bytes with an old validator, even if the file is swapped meanwhile.
        # O_NOFOLLOW: a symlink swapped in after the lstat must not lead outside the folder.
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as file:
            opened = os.fstat(file.fileno())
            body = file.read(self._max_file + 1)
        if len(body) != opened.st_size or not stat.S_ISREG(opened.st_mode):
            return _describe(path, media_type, opened, None)  # changing under us: not kept
        thumbnail = _describe(path, media_type, opened, body)
        self._keep(thumbnail)
        return thumbnail

    def _keep(self, thumbnail: Thumbnail) -> None:
        with self._lock:
            old = self._entries.pop(thumbnail.path, None)
            self._total -= old.size if old else 0
            self._entries[thumbnail.path] = thumbnail
            self._total += thumbnail.size
            while self._total > self._max_total:
                _, evicted = self._entries.popitem(last=False)
                self._total -= evicted.size

    def _forget(self, path: str) -> None:
        if path in self._entries:
            with self._lock:
                gone = self._entries.pop(path, None)
                self._total -= gone.size if gone else 0
