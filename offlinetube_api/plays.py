"""PlayLog: when each video was last streamed, kept in the store's database so that a
subscription's retention, on whatever host it runs, never removes a video that may be playing
(subscriptions/retention.py). A player asks for range after range while it plays: each process
writes a task's time at most once per NOTE_EVERY, so a stream costs a write a minute, not one
per range."""

import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from offlinetube_api.ports import TaskStore
from offlinetube_api.store import SqliteTaskStore, is_postgres

if TYPE_CHECKING:  # loaded in distributed mode only
    from offlinetube_api.store.postgres import Connection

NOTE_EVERY_S = 60.0
_REMEMBERED = 10_000  # tasks whose last write this process remembers

_SQLITE_NOTE = """INSERT INTO video_plays (task_id, played_at) VALUES (?, ?)
                  ON CONFLICT (task_id) DO UPDATE SET played_at = excluded.played_at"""
_POSTGRES_NOTE = """INSERT INTO video_plays (task_id, played_at) VALUES (%s, %s)
                    ON CONFLICT (task_id) DO UPDATE SET played_at = excluded.played_at"""


class PlayLog:
    """Notes the streams of the store's videos (`store` open)."""

    def __init__(self, store: TaskStore) -> None:
        self._store = store
        self._written: OrderedDict[str, float] = OrderedDict()  # task id -> monotonic time

    async def note(self, task_id: str) -> None:
        """The video of `task_id` is being streamed now. Raises StoreUnavailable."""
        now = time.monotonic()
        last = self._written.get(task_id)
        if last is not None and now - last < NOTE_EVERY_S:
            return
        await self._save(task_id, datetime.now(UTC))
        self._written[task_id] = now
        self._written.move_to_end(task_id)
        if len(self._written) > _REMEMBERED:
            self._written.popitem(last=False)

    async def _save(self, task_id: str, at: datetime) -> None:
        if is_postgres(self._store):

            async def save(connection: "Connection") -> None:
                await connection.execute(_POSTGRES_NOTE, (task_id, at))

            await self._store.run(save)
        elif isinstance(self._store, SqliteTaskStore):
            moment = at.isoformat(timespec="microseconds")
            await self._store.run(lambda db: db.execute(_SQLITE_NOTE, (task_id, moment)))
        else:
            raise TypeError(f"no play log for a {type(self._store).__name__}")
