"""A download's process group across a restart. Each running task remembers its group, so the
next start can make sure nothing of the previous run (yt-dlp, ffmpeg) still writes into the
task's folder before running it again. Linux only (/proc); elsewhere every group reads as gone.

A group id is the pid of the process that leads it. The kernel does not hand that number to a
new process while any member of the group lives, but it may once they are all gone; the
leader's start time tells a later process with the same number from ours."""

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from offlinetube_api.ports import ProcessGroup

logger = logging.getLogger(__name__)

_POLL_S = 0.02
_GONE_STATES = ("Z", "X")  # a zombie or a dead process writes nothing


@dataclass(frozen=True, slots=True)
class _Process:
    pid: int
    state: str
    pgid: int
    started: int


def _read(pid: int) -> _Process | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold ")"
        return _Process(pid=pid, state=fields[0], pgid=int(fields[2]), started=int(fields[19]))
    except (OSError, ValueError, IndexError):
        return None


def group_of(pid: int) -> ProcessGroup | None:
    """The group `pid` leads, or None if that process is gone (or there is no /proc)."""
    process = _read(pid)
    return ProcessGroup(pgid=pid, started=process.started) if process else None


def _members(group: ProcessGroup) -> list[_Process]:
    try:
        pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return []
    processes = (process for pid in pids if (process := _read(pid)))
    return [
        process
        for process in processes
        if process.pgid == group.pgid and process.state not in _GONE_STATES
    ]


def is_alive(group: ProcessGroup) -> bool:
    """Whether a process of this very group still runs (not a later one with the same id)."""
    members = _members(group)
    leader = next((process for process in members if process.pid == group.pgid), None)
    return bool(members) and (leader is None or leader.started == group.started)


async def end(group: ProcessGroup, *, deadline_s: float) -> bool:
    """SIGKILL the group if it is still alive and wait until it is gone; False if it is still
    there at the deadline."""
    if not await asyncio.to_thread(is_alive, group):
        return True
    logger.warning("process group %d of a previous run is still alive; killing it", group.pgid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group.pgid, signal.SIGKILL)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline_s
    while await asyncio.to_thread(is_alive, group):
        if loop.time() > give_up:
            return False
        await asyncio.sleep(_POLL_S)
    return True
