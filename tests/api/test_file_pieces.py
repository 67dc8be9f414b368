"""FilePieces: the bytes of a file in pieces, the last one from the page cache on the event loop
when it can be, every other in a worker thread; exact either way."""

import os
import threading
from pathlib import Path

import anyio
import pytest

from offlinetube_api.api import file_pieces
from offlinetube_api.api.file_pieces import FilePieces, FileShrank
from tests.fixtures.processes import open_files

MIB = 1024 * 1024


@pytest.fixture
def video(tmp_path: Path) -> tuple[Path, bytes]:
    content = os.urandom(3 * MIB + 123)
    path = tmp_path / "video.mp4"
    path.write_bytes(content)
    return path, content


def _read_all(path: Path, start: int, stop: int) -> tuple[bytes, set[str]]:
    """The bytes [start, stop) read in 1 MiB pieces, and the names of the threads that read."""
    readers: set[str] = set()
    pread = os.pread

    def noted_pread(fd: int, size: int, offset: int) -> bytes:
        readers.add(threading.current_thread().name)
        return pread(fd, size, offset)

    async def main() -> bytes:
        pieces: list[bytes] = []
        async with FilePieces(path, stop) as reader:
            offset = start
            while offset < stop:
                size = min(MIB, stop - offset)
                pieces.append(await reader.read(offset, size))
                offset += size
        return b"".join(pieces)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(file_pieces.os, "pread", noted_pread)
        return anyio.run(main), readers


def test_a_long_answer_is_exact_and_read_in_threads_but_its_last_piece(
    video: tuple[Path, bytes],
) -> None:
    path, content = video

    body, readers = _read_all(path, 0, len(content))

    assert body == content
    assert readers and threading.main_thread().name not in readers  # three pieces in threads


def test_a_cached_single_piece_is_read_without_a_thread(video: tuple[Path, bytes]) -> None:
    path, content = video
    path.read_bytes()  # into the page cache

    body, readers = _read_all(path, MIB, 2 * MIB)

    assert body == content[MIB : 2 * MIB]
    assert readers == set()  # os.pread never ran: preadv took it from the cache


def test_a_single_piece_not_in_the_cache_is_read_in_a_thread(
    video: tuple[Path, bytes],
) -> None:
    path, content = video
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # out of the page cache
    os.close(fd)

    body, readers = _read_all(path, 100, 100 + MIB)

    assert body == content[100 : 100 + MIB]
    assert readers and threading.main_thread().name not in readers


def test_a_file_that_ends_sooner_raises_file_shrank(video: tuple[Path, bytes]) -> None:
    path, _ = video
    os.truncate(path, MIB // 2)

    with pytest.raises(FileShrank):
        _read_all(path, 0, MIB)


def test_a_removed_file_is_still_read_whole_and_closed(video: tuple[Path, bytes]) -> None:
    path, content = video

    async def main() -> bytes:
        async with FilePieces(path, MIB) as reader:
            first = await reader.read(0, 1000)
            path.unlink()  # the worker replaced or retention removed it meanwhile
            return first + await reader.read(1000, MIB - 1000)

    body = anyio.run(main)

    assert body == content[:MIB]
    assert f"{path} (deleted)" not in open_files()
