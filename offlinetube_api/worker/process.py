"""One download process: start it, read its reports without blocking the event loop, kill it
together with everything it started. An info process (GET /api/info) is one too, with another
job, another entry point and one report."""

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import threading
from collections.abc import AsyncGenerator, Callable
from functools import cache
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Generic, TypeVar

from offlinetube_api.worker.info_messages import InfoJob
from offlinetube_api.worker.messages import DownloadJob, Report
from offlinetube_api.ytdlp_install import FOLDER_ENV, folder_in_use

logger = logging.getLogger(__name__)

CHILD_MODULE = "offlinetube_api.worker.child"
YTDLP_PATH_MODULE = "offlinetube_api.worker.ytdlp_path"
INFO_CHILD_MODULE = "offlinetube_api.worker.info_child"

JobT = TypeVar("JobT")
ReportT = TypeVar("ReportT")

# What the child process runs: the job, and the pipe's sending end for its reports.
ChildMain = Callable[[DownloadJob, Connection], None]


def default_child_main(job: DownloadJob, connection: Connection) -> None:
    """Runs in the child. The import is here so the API process never loads yt-dlp; the
    forkserver has it preloaded, so this costs nothing there."""
    from offlinetube_api.worker import child

    child.run(job, connection)


def default_info_main(job: InfoJob, connection: Connection) -> None:
    """Runs in an info process; as `default_child_main`."""
    from offlinetube_api.worker import info_child

    info_child.run(job, connection)


@cache
def _context() -> BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([YTDLP_PATH_MODULE, CHILD_MODULE, INFO_CHILD_MODULE])
    return context


class _ForkserverVersion:
    """The installed yt-dlp (its folder, None for the environment's) the running forkserver
    imported; the forkserver is started again when another one is installed."""

    lock = threading.Lock()
    folder: Path | None = None
    known = False


def use_ytdlp_folder(folder: Path) -> None:
    """Download processes import yt-dlp from the versions installed in `folder`
    (ytdlp_install.py) from now on. One per process, as the forkserver is."""
    os.environ[FOLDER_ENV] = str(folder.resolve())


def process_context() -> BaseContext:
    """forkserver: children fork from a clean, single-threaded server that has yt-dlp imported
    already, so a download starts fast and never inherits the API's threads. After a yt-dlp
    update (by this process or the command line) the next child comes from a new forkserver
    that imported the new version; children of the old one run on, undisturbed."""
    context = _context()
    named = os.environ.get(FOLDER_ENV)
    installed = folder_in_use(Path(named)) if named else None
    with _ForkserverVersion.lock:
        if _ForkserverVersion.known and installed != _ForkserverVersion.folder:
            logger.info("yt-dlp was updated: new downloads start from a new forkserver")
            _retire_forkserver()
        _ForkserverVersion.folder, _ForkserverVersion.known = installed, True
    return context


def _retire_forkserver() -> None:
    """Lets the running forkserver end once the children it started have ended, and makes the
    next child start a new one. The forkserver ends when every holder of its "alive" pipe has
    closed it: this process, and each child it started (multiprocessing hands them the pipe),
    so it stays while a download of its runs. (It may end before it has told the last one's
    exit code, which then reads 255; that child has sent its outcome by then.) multiprocessing
    has no public call for this; these are the attributes its ensure_running() resets when
    its server died."""
    server: Any = multiprocessing.forkserver._forkserver  # its attributes are private
    with server._lock:
        pid = server._forkserver_pid
        if pid is None:
            return
        os.close(server._forkserver_alive_fd)
        server._forkserver_address = server._forkserver_alive_fd = server._forkserver_pid = None
    threading.Thread(target=_reap, args=(pid,), name="forkserver-reaper", daemon=True).start()


def _reap(pid: int) -> None:
    """Waits for a retired forkserver, so that it leaves no zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


class ChildProcess(Generic[ReportT]):
    """A process started from the forkserver that runs `child_main(job, pipe)` and sends
    ReportT objects back through the pipe."""

    def __init__(
        self, job: JobT, *, child_main: Callable[[JobT, Connection], None], name: str
    ) -> None:
        """`child_main` must be a module-level function (the child imports it by name)."""
        context = process_context()
        self._connection, child_end = context.Pipe(duplex=False)
        self._process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=child_main, args=(job, child_end), name=name, daemon=True
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

    async def reports(self) -> AsyncGenerator[ReportT, None]:
        """Every report the child sends, until it closes the pipe or dies."""
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[ReportT | None] = asyncio.Queue()
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


class DownloadProcess(ChildProcess[Report]):
    def __init__(self, job: DownloadJob, *, child_main: ChildMain = default_child_main) -> None:
        """Tests give a scripted stand-in for yt-dlp as `child_main`
        (tests/fixtures/scripted_child.py)."""
        super().__init__(job, child_main=child_main, name=f"download-{job.task_id[:8]}")
