"""Where tasks and their events live: SQLite in the data folder, or PostgreSQL.

The SQL of each lives in its module; `rows` converts tasks for both, `migrations` keeps both
schemas up to date from one numbered history.

Embedded mode never loads psycopg (about 11 MiB of memory): `store.postgres` is imported only
when a PostgreSQL store is asked for, by `open_store`, `is_postgres` or the name
`PostgresTaskStore` read from this package."""

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeGuard

from offlinetube_api import ports
from offlinetube_api.config import Settings
from offlinetube_api.ports import StoredFile, TaskStore
from offlinetube_api.store.sqlite import SqliteTaskStore

if TYPE_CHECKING:
    from offlinetube_api.store.postgres import PostgresTaskStore

__all__ = [
    "PostgresTaskStore",
    "SqliteTaskStore",
    "StoredFile",
    "TaskStore",
    "is_postgres",
    "open_store",
]


def __getattr__(name: str) -> object:
    """`PostgresTaskStore`, imported on first use (PEP 562)."""
    if name == "PostgresTaskStore":
        from offlinetube_api.store.postgres import PostgresTaskStore

        return PostgresTaskStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(settings: Settings, announce: Callable[[], None]) -> ports.TaskStore:
    """The store `settings` choose, not yet open: PostgreSQL at `database_url` when it is set
    (the database announces its events itself), else SQLite in the data folder, which calls
    `announce` (the EventBus's) after each commit that saved events."""
    if settings.database_url is not None:
        from offlinetube_api.store.postgres import PostgresTaskStore

        return PostgresTaskStore(settings.database_url.get_secret_value())
    return SqliteTaskStore(settings.database_path, announce=announce)


def is_postgres(store: TaskStore) -> "TypeGuard[PostgresTaskStore]":
    """Whether `store` is PostgreSQL's, for the parts that speak each database's SQL (keys,
    the outbox, the rate limit, the signing secret). Loads psycopg only for a store that is
    not SQLite's, and such a store has loaded it already."""
    if isinstance(store, SqliteTaskStore):
        return False
    from offlinetube_api.store.postgres import PostgresTaskStore

    return isinstance(store, PostgresTaskStore)
