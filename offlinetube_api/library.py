"""The library on disk can stand without the database: each finished video keeps a metadata
sidecar (the task as JSON), from which `offlinetube-api rebuild` restores lost tasks."""

import asyncio
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from offlinetube_api import media
from offlinetube_api.config import Settings
from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import TaskStore

logger = logging.getLogger(__name__)

_TASK_JSON = TypeAdapter(Task)


def write_sidecar(downloads_dir: Path, task: Task) -> None:
    """Saves `task` as `<downloads>/.meta/<id>.json`, replacing any older one in one step. A
    folder that refuses the write is logged, not raised: the download itself is done."""
    path = media.sidecar_path(downloads_dir, task.id)
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(_TASK_JSON.dump_json(task, indent=1))
        os.replace(partial, path)
    except OSError as exc:
        logger.warning("task %s: no metadata file, so rebuild cannot restore it: %s", task.id, exc)


def remove_sidecar(downloads_dir: Path, task_id: str) -> None:
    """Deletes the sidecar of `task_id`; one already gone is fine."""
    media.sidecar_path(downloads_dir, task_id).unlink(missing_ok=True)


def read_sidecar(path: Path) -> Task | None:
    """The task saved in `path`, or None when it is unreadable or not a finished task."""
    try:
        task = _TASK_JSON.validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        logger.warning("ignoring metadata file %s: %s", path, exc)
        return None
    if task.status is not TaskStatus.COMPLETED or path.stem != task.id or not _own_video(task):
        logger.warning("ignoring metadata file %s: not a finished task of that id", path)
        return None
    return task


def _own_video(task: Task) -> bool:
    """The file name is the task's own video name, so a crafted sidecar cannot point the
    restored task at another file."""
    name = task.filename or ""
    return media.video_media_type(name) is not None and name.startswith(
        f"{media.video_stem(task.id)}."
    )


@dataclass
class RebuildReport:
    restored: list[str] = field(default_factory=list)  # task ids
    already_known: int = 0
    skipped: list[str] = field(default_factory=list)  # why, one line each


async def rebuild(store: TaskStore, *, downloads_dir: Path, thumbnails_dir: Path) -> RebuildReport:
    """Adds to `store` every finished task whose sidecar and video are on disk and that the
    store does not know, oldest first, with the thumbnail and subtitles found beside it."""
    report = RebuildReport()
    found = [read_sidecar(path) for path in media.sidecar_paths(downloads_dir)]
    for task in sorted(filter(None, found), key=lambda task: task.created_at):
        if await store.get(task.id) is not None:
            report.already_known += 1
        elif task.filename is None or not (downloads_dir / task.filename).is_file():
            report.skipped.append(f"{task.id}: its video {task.filename} is gone")
        else:
            await store.add(_as_found_on_disk(task, downloads_dir, thumbnails_dir))
            report.restored.append(task.id)
    await _report_videos_without_sidecar(store, downloads_dir, report)
    return report


async def _report_videos_without_sidecar(
    store: TaskStore, downloads_dir: Path, report: RebuildReport
) -> None:
    """Videos saved before sidecars existed: nothing says what they were, so they are named."""
    for video in media.video_files(downloads_dir):
        task_id = media.task_id_of_video(video.name)
        if task_id is None or media.sidecar_path(downloads_dir, task_id).exists():
            continue
        if await store.get(task_id) is None:
            report.skipped.append(f"{video.name}: it has no metadata file to restore it from")


def _as_found_on_disk(task: Task, downloads_dir: Path, thumbnails_dir: Path) -> Task:
    subtitles = tuple(name for name in task.subtitle_files if (downloads_dir / name).is_file())
    return replace(
        task,
        thumbnail_file=media.local_thumbnail_name(thumbnails_dir, task.id),
        subtitle_files=subtitles,
    )


async def warn_if_library_is_orphaned(store: TaskStore, *, settings: Settings) -> None:
    """A WARNING when the database holds no task but the downloads folder holds videos: the
    database was probably lost or replaced, and `rebuild` can bring the library back."""
    if (await store.page(status=None, limit=1)).total:
        return
    downloads_dir = settings.downloads_dir
    database = "PostgreSQL" if settings.distributed else settings.database_path
    videos = len(await asyncio.to_thread(media.video_files, downloads_dir))
    if videos:
        logger.warning(
            "The database %s holds no tasks, but %s holds %d videos: if the database was "
            "lost, run `offlinetube-api rebuild` to restore them from their metadata files",
            database,
            downloads_dir,
            videos,
        )
