"""Pieces of one file, read with `os.pread` in one worker-thread hop each, except the last
piece, which is read on the event loop when the page cache holds it whole. Starlette's
`FileResponse`, through `anyio`'s async file, costs a hop each for the open, the seek, every
read and the close.

The last piece is the whole answer to a bounded range of up to 1 MiB (Safari's `bytes=0-1`
probe, players that fetch in bounded ranges, bench figure 2's random ranges), and such an
answer waits for nothing but its read: a read from memory costs
microseconds (60 us for 1 MiB, measured on this project's 2-core machine), while a hop to a
worker thread and back costs 200 to 300 us there. So it is first asked of `preadv` with
`RWF_NOWAIT` (Linux 4.14 and later), which copies what is cached and never waits for the disk,
and read in a thread only when that cannot give it whole. The pieces before it stay in threads:
`os.pread` there costs one copy fewer than reading into the scratch buffer `preadv` needs, and
on a long answer it is the copies per byte that set the pace (a full 256 MiB GET measured no
faster read on the loop).

The open of a single-piece answer runs on the loop: the route has just resolved and stat'ed
the path, so it costs microseconds. Its close does too, except when the file has been removed
or replaced since it was opened: the last close then frees its blocks, which took 59 ms for a
256 MiB file and 683 ms for 2 GiB on this project's ext4 machine, time the loop would stand
still; that close runs in a worker thread.
"""

import os
import threading
from types import TracebackType
from typing import Self

import anyio
import anyio.to_thread

# None where the platform has no such flag: every piece is then read in a worker thread.
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)
# Pieces up to this size are tried from the page cache: the service's chunk size.
SCRATCH_BYTES = 1024 * 1024


_local = threading.local()


def _scratch() -> memoryview:
    """This thread's buffer for reads from the page cache, used again by every read: a new
    zero-filled 1 MiB buffer per read made a 1 MiB range take 2.3 ms instead of 0.6 ms on this
    project's machine (its pages are faulted in and zeroed each time)."""
    buffer: memoryview | None = getattr(_local, "scratch", None)
    if buffer is None:
        buffer = _local.scratch = memoryview(bytearray(SCRATCH_BYTES))
    return buffer


class FileShrank(Exception):
    """The file ended before a byte the answer had promised: it was truncated while served."""


class FilePieces:
    """`async with FilePieces(path, stop) as pieces: await pieces.read(offset, size)`.

    `stop`: the offset (bytes, exclusive) of the last byte that will be read; the piece that
    reaches it closes the file. Leaving the `async with` earlier (a client gone, an error)
    closes it too, shielded from cancellation. Used by one task at a time.
    """

    def __init__(self, path: str | os.PathLike[str], stop: int) -> None:
        self._path = path
        self._stop = stop
        # Cleared inside the worker thread when a thread read closes it: a cancelled hop still
        # finishes its thread (anyio's default), and `__aexit__` must not close it twice.
        self._fd: int | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            with anyio.CancelScope(shield=True):
                await self._close_where_cheap()

    async def read(self, offset: int, size: int) -> bytes:
        """Exactly `size` bytes from `offset`; raises FileShrank (having closed the file) when
        the file ends sooner, and OSError when it cannot be opened or read."""
        last = offset + size >= self._stop
        if not last:
            return await anyio.to_thread.run_sync(self._read, offset, size)
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDONLY)
        piece = self._cached(self._fd, offset, size)
        if piece is None:
            return await anyio.to_thread.run_sync(self._read, offset, size)
        await self._close_where_cheap()
        return piece

    @staticmethod
    def _cached(fd: int, offset: int, size: int) -> bytes | None:
        """The piece if the page cache holds all of it, else None."""
        if _NOWAIT is None or size > SCRATCH_BYTES:
            return None
        view = _scratch()[:size]
        try:
            got = os.preadv(fd, [view], offset, _NOWAIT)
        except OSError:  # EAGAIN: not all in memory; EOPNOTSUPP: a file system without it
            return None
        # Short: partly cached, or the file ends sooner; the thread read tells which.
        return bytes(view) if got == size else None

    def _read(self, offset: int, size: int) -> bytes:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDONLY)
        piece = os.pread(self._fd, size, offset)
        if len(piece) < size or offset + size >= self._stop:
            self._close()
        if len(piece) < size:
            raise FileShrank(f"{self._path} ends at byte {offset + len(piece)}")
        return piece

    async def _close_where_cheap(self) -> None:
        if self._fd is not None and os.fstat(self._fd).st_nlink > 0:
            self._close()  # other links keep the blocks: nothing to free
        else:
            await anyio.to_thread.run_sync(self._close)

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
