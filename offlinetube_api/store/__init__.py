"""Where tasks and their events live: SQLite in the data folder, or PostgreSQL.

The SQL of each lives in its module; `rows` converts tasks for both, `migrations` keeps both
schemas up to date from one numbered history."""

from collections.abc import Callable

from offlinetube_api import ports
from offlinetube_api.config import Settings
from offlinetube_api.ports import StoredFile, TaskStore
from offlinetube_api.store.postgres import PostgresTaskStore
from offlinetube_api.store.sqlite import SqliteTaskStore

__all__ = ["PostgresTaskStore", "SqliteTaskStore", "StoredFile", "TaskStore", "open_store"]


def open_store(settings: Settings, announce: Callable[[], None]) -> ports.TaskStore:
    """The store `settings` choose, not yet open: PostgreSQL at `database_url` when it is set
    (the database announces its events itself), else SQLite in the data folder, which calls
    `announce` (the EventBus's) after each commit that saved events."""
    if settings.database_url is not None:
        return PostgresTaskStore(settings.database_url.get_secret_value())
    return SqliteTaskStore(settings.database_path, announce=announce)
