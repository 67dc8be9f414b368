"""The titles of finished videos, for the names a browser saves them under."""

import os

from offlinetube_api.ports import TaskStore

DEFAULT_SIZE = 4096


class VideoTitles:
    """Task titles by task id, read from the store once per video file.

    Streaming is a hot path (a `<video>` asks for a new range at every seek), and a store read
    costs a thread hop, more than the rest of a small range answer. An entry is kept with the
    file's inode and modification time, so a video downloaded again under the same id is read
    afresh. At most `size` entries; the oldest goes first. Used from the event loop only."""

    def __init__(self, store: TaskStore, size: int = DEFAULT_SIZE) -> None:
        self._store = store
        self._size = size
        self._titles: dict[str, tuple[tuple[int, int], str | None]] = {}

    async def title(self, task_id: str, video: os.stat_result) -> str | None:
        """The title of the task whose video file `video` describes; None when the task has
        none or is gone."""
        version = (video.st_ino, video.st_mtime_ns)
        cached = self._titles.get(task_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        task = await self._store.get(task_id)
        title = task.title if task else None
        if len(self._titles) >= self._size and task_id not in self._titles:
            del self._titles[next(iter(self._titles))]
        self._titles[task_id] = (version, title)
        return title
