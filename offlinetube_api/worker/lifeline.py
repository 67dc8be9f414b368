"""Ties a download process to the service itself, not to the forkserver it was forked from.

The service holds the only read end of each download's report pipe. When the service dies,
however it dies, the kernel closes that end and the pipe's write end, here, reports an error
at once (POLLERR). A thread waits for exactly that and kills the download's whole process
group: yt-dlp, ffmpeg and anything else they started. The forkserver cannot do this job: every
download process keeps the forkserver's liveness pipe open, so it outlives the service for as
long as they do, and a parent-death signal tied to it never fires.

A stopped download process (SIGSTOP, a debugger) runs no thread, so a second watcher, a forked
process of the same group, waits for the same pipe and kills the group from outside. It ends
by itself with the download process: it also watches a pipe whose only write end that process
holds."""

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
    _fork_outside_watcher(watched)  # first: no thread of ours runs yet when it forks
    threading.Thread(target=_watch, args=(watched,), name="lifeline", daemon=True).start()


def _fork_outside_watcher(watched: int) -> None:
    """A process of this group that kills it when `watched` reports the service gone, and
    exits when this process ends (the write end of `alive` closes with it)."""
    alive_read, alive_write = os.pipe()  # not inherited by the programs yt-dlp starts
    if os.fork() != 0:
        os.close(alive_read)
        return  # alive_write stays open for as long as this process lives
    os.close(alive_write)
    try:
        # A cancel's SIGINT to the group is the download's to handle; this one just waits.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _keep_only(watched, alive_read)
        poller = select.poll()
        poller.register(watched, select.POLLERR)
        poller.register(alive_read, select.POLLIN)  # POLLHUP comes by itself
        while not (events := poller.poll()):
            pass
        if any(fd == watched and happened & _GONE for fd, happened in events):
            os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:
        os._exit(0)  # never the download's own clean-up, nor its exit handlers


def _keep_only(*kept: int) -> None:
    """Closes every descriptor above stderr but `kept`: the forked watcher holds nothing of
    the download (the forkserver's pipe, files) open."""
    low = 3
    for fd in sorted(kept):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


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
