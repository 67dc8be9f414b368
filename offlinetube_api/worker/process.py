"""One download process: start it, read its reports without blocking the event loop, kill it
together with everything it started."""

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator
from functools import cache
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from offlinetube_api.worker.messages import DownloadJob, Report

logger = logging.getLogger(__name__)

CHILD_MODULE = "offlinetube_api.worker.child"


def _child_main(job: DownloadJob, connection: Connection) -> None:
    """Runs in the child. The import is here so the API process never loads yt-dlp; the
    forkserver has it preloaded, so this costs nothing there."""
    from offlinetube_api.worker import child

    child.run(job, connection)


@cache
def _context() -> BaseContext:
    """forkserver: children fork from a clean, single-threaded server that has yt-dlp imported
    already, so a download starts fast and never inherits the API's threads."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([CHILD_MODULE])
    return context


class DownloadProcess:
    def __init__(self, job: DownloadJob) -> None:
        context = _context()
        self._connection, child_end = context.Pipe(duplex=False)
        self._process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=_child_main,
            args=(job, child_end),
            name=f"download-{job.task_id[:8]}",
            daemon=True,
        )
        self._child_end: Connection | None = child_end

    async def start(self) -> None:
        await asyncio.to_thread(self._process.start)
        assert self._child_end is not None
        self._child_end.close()  # so that the child's exit shows up here as end of file
        self._child_end = None

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode

    async def reports(self) -> AsyncIterator[Report]:
        """Every report the child sends, until it closes the pipe or dies."""
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Report | None] = asyncio.Queue()
        fd = self._connection.fileno()

        def on_readable() -> None:
            try:
                while self._connection.poll():
                    inbox.put_nowait(self._connection.recv())
            except (EOFError, OSError):
                loop.remove_reader(fd)
                inbox.put_nowait(None)

        loop.add_reader(fd, on_readable)
        try:
            while (report := await inbox.get()) is not None:
                yield report
        finally:
            loop.remove_reader(fd)

    def kill(self) -> None:
        """SIGKILL the child's whole process group: yt-dlp, ffmpeg, anything else."""
        pid = self._process.pid
        if pid is None or self._process.exitcode is not None:
            return
        # No such group while the child has not called setsid yet; then killing it alone is enough.
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        self._process.kill()

    async def wait(self) -> int | None:
        """Reap the child without blocking the loop."""
        if self._process.pid is None:  # never started
            self._connection.close()
            if self._child_end is not None:
                self._child_end.close()
            return None
        loop = asyncio.get_running_loop()
        if self._process.exitcode is None:
            exited: asyncio.Future[None] = loop.create_future()
            sentinel = self._process.sentinel

            def on_exit() -> None:
                if not exited.done():
                    exited.set_result(None)

            loop.add_reader(sentinel, on_exit)
            try:
                await exited
            finally:
                loop.remove_reader(sentinel)
        self._process.join(timeout=0)
        self._connection.close()
        return self._process.exitcode
