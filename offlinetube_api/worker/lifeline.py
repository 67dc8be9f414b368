"""Ties a download process to the service itself, not to the forkserver it was forked from.

The service holds the only read end of each download's report pipe. When the service dies,
however it dies, the kernel closes that end and the pipe's write end, here, reports an error
at once (POLLERR). A thread waits for exactly that and kills the download's whole process
group: yt-dlp, ffmpeg and anything else they started. The forkserver cannot do this job: every
download process keeps the forkserver's liveness pipe open, so it outlives the service for as
long as they do, and a parent-death signal tied to it never fires."""

import logging
import os
import select
import signal
import threading
from multiprocessing.connection import Connection

logger = logging.getLogger("offlinetube_api.worker")

_GONE = select.POLLERR | select.POLLHUP | select.POLLNVAL


def die_with_service(connection: Connection) -> None:
    """Start watching; call it after `os.setsid()`, so the group killed is this download's own.

    `connection` is the write end of the report pipe. The watcher keeps a duplicate of its
    descriptor, so closing the connection at the end of a download does not set it off."""
    watched = os.dup(connection.fileno())
    threading.Thread(target=_watch, args=(watched,), name="lifeline", daemon=True).start()


def _watch(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLERR)  # never POLLOUT: a writable pipe must not wake us
    while not any(events & _GONE for _, events in poller.poll()):
        pass
    logger.warning("the service is gone; stopping this download and everything it started")
    _kill_own_group()


def _kill_own_group() -> None:
    own = os.getpid()
    if os.getpgrp() == own:
        os.killpg(own, signal.SIGKILL)
    os.kill(own, signal.SIGKILL)  # not a group leader (never expected): at least this process
