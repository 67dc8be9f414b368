"""The restart's check of a previous run's process group: it sees a live group, ends it, and
never takes a later process that happens to reuse the number for it."""

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from offlinetube_api.worker.process_groups import ProcessGroup, end, group_of, is_alive


@pytest.fixture
def group_leader() -> Iterator[subprocess.Popen[bytes]]:
    """A process leading its own group, with a child in the same group."""
    process = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True)
    yield process
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_a_live_group_is_alive_and_end_kills_all_of_it(
    group_leader: subprocess.Popen[bytes],
) -> None:
    group = group_of(group_leader.pid)
    assert group is not None and is_alive(group)

    assert asyncio.run(end(group, deadline_s=10))

    group_leader.wait(timeout=10)
    assert not is_alive(group)


def test_a_later_process_with_the_same_number_is_not_the_group(
    group_leader: subprocess.Popen[bytes],
) -> None:
    group = group_of(group_leader.pid)
    assert group is not None
    someone_else = ProcessGroup(pgid=group.pgid, started=group.started + 1)

    assert not is_alive(someone_else)
    assert asyncio.run(end(someone_else, deadline_s=10))
    assert group_leader.poll() is None, "another run's process must be left alone"
