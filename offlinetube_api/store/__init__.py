"""Where tasks and their events live: SQLite in the data folder, or PostgreSQL.

The SQL of each lives in its module; `rows` converts tasks for both, `migrations` keeps both
schemas up to date from one numbered history."""

from typing import Any, Protocol

from offlinetube_api import ports
from offlinetube_api.models import Task
from offlinetube_api.ports import StoredFile
from offlinetube_api.store.sqlite import SqliteTaskStore

__all__ = ["SqliteTaskStore", "StoredFile", "TaskStore"]


class TaskStore(ports.TaskStore, Protocol):
    """ports.TaskStore plus the two unchecked writes its older callers still make; becomes
    ports.TaskStore itself once they use `apply` and `remove`."""

    async def update(self, task_id: str, **changes: Any) -> Task | None: ...

    async def delete(self, task_id: str) -> bool: ...
