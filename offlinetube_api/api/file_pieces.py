"""Pieces of one file read off the event loop with `os.pread`, one thread hop per piece: the
first piece's hop opens the file and the last one's closes it, where `anyio`'s async file (what
Starlette's `FileResponse` uses) costs a hop each for the open, the seek, every read and the
close. A small range is thus one hop instead of four.

The close stays in a thread too: when the file was replaced or deleted while being served, the
last close frees its blocks, which took 59 ms for a 256 MiB file and 683 ms for 2 GiB on this
project's ext4 machine, time the event loop would stand still.
"""

import os
from types import TracebackType
from typing import Self

import anyio
import anyio.to_thread


class FileShrank(Exception):
    """The file ended before a byte the answer had promised: it was truncated while served."""


class FilePieces:
    """`async with FilePieces(path, stop) as pieces: await pieces.read(offset, size)`.

    `stop`: the offset (bytes, exclusive) of the last byte that will be read; the piece that
    reaches it closes the file in its own hop. Leaving the `async with` earlier (a client gone,
    an error) closes it in one more hop, shielded from cancellation. Used by one task at a time.
    """

    def __init__(self, path: str | os.PathLike[str], stop: int) -> None:
        self._path = path
        self._stop = stop
        # Set and cleared inside the worker thread: a cancelled hop still finishes its thread
        # (anyio's default), so whatever it opened is here for `__aexit__` to close.
        self._fd: int | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._close)

    async def read(self, offset: int, size: int) -> bytes:
        """Exactly `size` bytes from `offset`; raises FileShrank (having closed the file) when
        the file ends sooner, and OSError when it cannot be opened or read."""
        return await anyio.to_thread.run_sync(self._read, offset, size)

    def _read(self, offset: int, size: int) -> bytes:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDONLY)
        piece = os.pread(self._fd, size, offset)
        if len(piece) < size or offset + size >= self._stop:
            self._close()
        if len(piece) < size:
            raise FileShrank(f"{self._path} ends at byte {offset + len(piece)}")
        return piece

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
