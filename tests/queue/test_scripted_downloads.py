"""The fast layer: embedded mode's real queue, runner, outcomes and SQLite store, and a real
download process per run that follows a script instead of running yt-dlp
(tests/fixtures/scripted_child.py). Each behaviour costs a few forks and milliseconds; the
real child is covered end to end by the tests through HTTP."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offlinetube_api.config import Settings
from offlinetube_api.core import embedded_core
from offlinetube_api.download_service import DownloadService
from offlinetube_api.ffmpeg import FfmpegBinary, FfmpegSource
from offlinetube_api.js_runtime import JsRuntime, JsRuntimeSource
from offlinetube_api.models import DownloadOrder, ErrorKind, Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.programs import Programs
from offlinetube_api.worker.messages import DownloadJob
from offlinetube_api.worker.ytdlp_options import build_options
from tests.fixtures.processes import download_processes
from tests.fixtures.scripted_child import (
    received_job,
    run_starts,
    script_url,
    scripted_child_main,
)
from tests.fixtures.service import SUITE_SETTINGS
from tests.queue.harness import wait_until

BACKOFF_S = 0.05
WITHIN_S = 10.0  # a deadline for a loaded machine; each wait takes milliseconds on an idle one
SHUTDOWN_TIMEOUT_S = 60.0  # how long the queue would wait for a download that does not stop
NO_PROGRAMS = Programs(
    ffmpeg=FfmpegBinary(path=None, source=FfmpegSource.NONE, version=None), js_runtime=None
)


@dataclass
class Manager:
    store: TaskStore
    downloads: DownloadService
    settings: Settings

    async def submit(self, *runs: list[str]) -> str:
        submission = await self.downloads.submit(DownloadOrder(url=script_url(*runs)))
        return submission.task.id

    async def task(self, task_id: str) -> Task:
        task = await self.store.get(task_id)
        assert task is not None
        return task

    async def wait_for(self, task_id: str, status: TaskStatus) -> Task:
        async def reached() -> bool:
            return (await self.task(task_id)).status is status

        await wait_until(reached, within_s=WITHIN_S, what=f"{task_id} {status}")
        return await self.task(task_id)

    async def wait_for_progress(self, task_id: str, *, run: int = 1) -> None:
        """Until the task's `run`-th run reported progress: its child is running, in its own
        process group, and has written its partial file."""

        async def reported() -> bool:
            task = await self.task(task_id)
            moving = task.status is TaskStatus.DOWNLOADING and task.downloaded_bytes == 50
            return moving and len(self.starts(task_id)) == run

        await wait_until(reported, within_s=WITHIN_S, what=f"{task_id} run {run} progress")

    def starts(self, task_id: str) -> list[float]:
        return run_starts(self.settings.downloads_dir, task_id)

    def job(self, task_id: str) -> DownloadJob:
        return received_job(self.settings.downloads_dir, task_id)

    def partial_dir(self, task_id: str) -> Path:
        return self.settings.downloads_dir / ".incomplete" / task_id


@asynccontextmanager
async def scripted_manager(
    root: Path, *, programs: Programs = NO_PROGRAMS, **settings: Any
) -> AsyncIterator[Manager]:
    chosen = Settings(
        downloads_dir=root / "downloads",
        thumbnails_dir=root / "thumbnails",
        data_dir=root / "data",
        retry_backoff_seconds=BACKOFF_S,
        # The suite's short site cool-down: a scripted 429 would otherwise hold the site 60 s.
        **(SUITE_SETTINGS | settings),
    )
    chosen.create_folders()
    async with embedded_core(
        chosen, programs=programs, notifier=None, child_main=scripted_child_main
    ) as core:
        yield Manager(core.store, core.downloads, chosen)


def run(
    tmp_path: Path,
    scenario: Callable[[Manager], Coroutine[Any, Any, None]],
    *,
    programs: Programs = NO_PROGRAMS,
    **settings: Any,
) -> None:
    async def main() -> None:
        async with scripted_manager(tmp_path, programs=programs, **settings) as manager:
            await scenario(manager)

    asyncio.run(main())


def test_progress_then_complete_puts_the_file_in_the_library(tmp_path: Path) -> None:
    async def scenario(manager: Manager) -> None:
        task_id = await manager.submit(["progress", "complete"])

        task = await manager.wait_for(task_id, TaskStatus.COMPLETED)

        assert (task.title, task.filename, task.filesize, task.attempts) == (
            "Scripted",
            f"video__{task_id}.mp4",
            4,
            1,
        )
        assert (manager.settings.downloads_dir / f"video__{task_id}.mp4").read_bytes() == b"mp4!"
        assert not manager.partial_dir(task_id).exists()

    run(tmp_path, scenario)


def test_the_download_process_gives_ytdlp_the_js_runtime_found(tmp_path: Path) -> None:
    deno = JsRuntime(
        name="deno", path="/opt/deno/bin/deno", source=JsRuntimeSource.SETTING, version="2.9.8"
    )

    async def scenario(manager: Manager) -> None:
        task_id = await manager.submit(["complete"])
        await manager.wait_for(task_id, TaskStatus.COMPLETED)

        options = build_options(
            manager.job(task_id), logger=None, on_progress=print, on_postprocess=print
        )
        assert options["js_runtimes"] == {"deno": {"path": "/opt/deno/bin/deno"}}

    run(tmp_path, scenario, programs=Programs(ffmpeg=NO_PROGRAMS.ffmpeg, js_runtime=deno))


def test_without_a_js_runtime_ytdlp_gets_none_rather_than_its_default(tmp_path: Path) -> None:
    async def scenario(manager: Manager) -> None:
        task_id = await manager.submit(["complete"])
        await manager.wait_for(task_id, TaskStatus.COMPLETED)

        options = build_options(
            manager.job(task_id), logger=None, on_progress=print, on_postprocess=print
        )
        assert options["js_runtimes"] == {}  # absent, yt-dlp would look for deno itself

    run(tmp_path, scenario)


def test_no_more_downloads_run_at_once_than_the_slots(tmp_path: Path) -> None:
    async def scenario(manager: Manager) -> None:
        first, second, third = [await manager.submit(["progress", "hang"]) for _ in range(3)]
        for task_id in (first, second):
            await manager.wait_for_progress(task_id)

        figures = await manager.downloads.queue_figures()
        assert (figures.running, figures.queued, figures.max_concurrent) == (2, 1, 2)
        assert (await manager.task(third)).status is TaskStatus.QUEUED
        assert manager.starts(third) == []

        await manager.downloads.cancel(first)  # a slot frees: the third starts
        await manager.wait_for_progress(third)

    run(tmp_path, scenario, max_concurrent_downloads=2)


def test_cancel_kills_a_running_download_and_keeps_nothing(tmp_path: Path) -> None:
    async def scenario(manager: Manager) -> None:
        before = download_processes()
        task_id = await manager.submit(["progress", "hang"])
        await manager.wait_for_progress(task_id)
        (child,) = download_processes() - before

        cancelled = await manager.downloads.cancel(task_id)

        assert (cancelled.status, cancelled.error_kind) == (
            TaskStatus.CANCELLED,
            ErrorKind.CANCELLED,
        )
        assert child not in download_processes()
        assert not manager.partial_dir(task_id).exists()

    run(tmp_path, scenario)


def test_transient_failures_are_retried_after_a_doubling_back_off(tmp_path: Path) -> None:
    async def scenario(manager: Manager) -> None:
        task_id = await manager.submit(
            ["progress", "fail-network"], ["fail-rate_limited"], ["complete"]
        )

        task = await manager.wait_for(task_id, TaskStatus.COMPLETED)

        assert task.attempts == 3
        first, second, third = manager.starts(task_id)
        # Lower bounds only: a loaded machine may start a run later, never earlier.
        assert second - first >= BACKOFF_S
        assert third - second >= 2 * BACKOFF_S

    run(tmp_path, scenario)


def test_retries_end_after_max_retries_with_the_last_error(tmp_path: Path) -> None:
    async def scenario(manager: Manager) -> None:
        task_id = await manager.submit(["progress", "fail-network"])

        task = await manager.wait_for(task_id, TaskStatus.FAILED)

        assert (task.attempts, task.error_kind, task.error) == (
            3,
            ErrorKind.NETWORK,
            "scripted network failure",
        )
        assert len(manager.starts(task_id)) == 3

    run(tmp_path, scenario, max_retries=2)


def test_a_final_failure_is_not_retried_and_its_partial_files_go(tmp_path: Path) -> None:
    async def scenario(manager: Manager) -> None:
        task_id = await manager.submit(["progress", "fail-not_found"])

        task = await manager.wait_for(task_id, TaskStatus.FAILED)

        assert (task.attempts, task.error_kind) == (1, ErrorKind.NOT_FOUND)
        assert not manager.partial_dir(task_id).exists()

    run(tmp_path, scenario)


def test_a_killed_child_is_retried_and_its_partial_file_kept(tmp_path: Path) -> None:
    """Killed by a signal (the OOM killer, kill -9) is transient: retried, and what it
    downloaded stays for a later attempt to continue."""

    async def scenario(manager: Manager) -> None:
        task_id = await manager.submit(["progress", "die"])

        task = await manager.wait_for(task_id, TaskStatus.FAILED)

        assert (task.attempts, task.error_kind, task.error) == (
            2,
            ErrorKind.KILLED,
            "The download process was killed by SIGKILL (out of memory, or stopped from outside)",
        )
        assert len(manager.starts(task_id)) == 2
        assert (manager.partial_dir(task_id) / f"video__{task_id}.mp4.part").exists()

    run(tmp_path, scenario, max_retries=1)


def test_a_child_that_exits_without_a_word_fails_with_its_exit_code(tmp_path: Path) -> None:
    async def scenario(manager: Manager) -> None:
        task_id = await manager.submit(["progress", "exit-3"])

        task = await manager.wait_for(task_id, TaskStatus.FAILED)

        assert (task.attempts, task.error_kind, task.error) == (
            1,
            ErrorKind.UNKNOWN,
            "download process exited unexpectedly (exit code 3)",
        )

    run(tmp_path, scenario)


def test_shutdown_kills_a_hung_download_and_queues_it_again(tmp_path: Path) -> None:
    """A download that never reports again is killed, not waited for: the service stops well
    within its shutdown timeout, and the task waits for the next start with its files."""
    before = download_processes()
    tasks: list[str] = []
    closing: list[float] = []

    async def scenario(manager: Manager) -> None:
        tasks.append(await manager.submit(["progress", "hang"]))
        await manager.wait_for_progress(tasks[0])
        closing.append(time.monotonic())

    run(tmp_path, scenario, shutdown_timeout=SHUTDOWN_TIMEOUT_S)

    assert time.monotonic() - closing[0] < SHUTDOWN_TIMEOUT_S / 6
    assert download_processes() - before == set()
    (task_id,) = tasks
    partial = tmp_path / "downloads" / ".incomplete" / task_id / f"video__{task_id}.mp4.part"
    assert partial.exists()

    async def after_restart(manager: Manager) -> None:
        await manager.wait_for_progress(task_id, run=2)  # the next start runs it
        await manager.downloads.cancel(task_id)

    run(tmp_path, after_restart)
