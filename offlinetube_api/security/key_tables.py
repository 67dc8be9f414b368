"""The `api_keys` table in each database, reached through the store's own connections; and the
key store of a process, whichever mode `settings` choose."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from offlinetube_api.config import Settings
from offlinetube_api.ports import TaskStore
from offlinetube_api.security.keys import ApiKey, KeyStore, StoredKey, key_from_row
from offlinetube_api.store import SqliteTaskStore, is_postgres, open_store

if TYPE_CHECKING:  # loaded in distributed mode only
    from offlinetube_api.store.postgres import Connection, PostgresTaskStore

_COLUMNS = "id, name, scope, secret_sha256, created_at, revoked_at"


class SqliteKeyTable:
    def __init__(self, store: SqliteTaskStore) -> None:
        self._store = store

    async def insert(self, stored: StoredKey) -> None:
        key = stored.key
        values = (key.id, key.name, key.scope.value, stored.secret_sha256)
        sql = f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL)"
        await self._store.run(lambda db: db.execute(sql, (*values, key.created_at.isoformat())))

    async def select(self, *, active_only: bool) -> list[ApiKey]:
        where = "WHERE revoked_at IS NULL" if active_only else ""
        sql = f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at"
        return await self._store.run(
            lambda db: [key_from_row(dict(row)) for row in db.execute(sql)]
        )

    async def find_active(self, key_id: str) -> StoredKey | None:
        sql = f"SELECT {_COLUMNS} FROM api_keys WHERE id = ? AND revoked_at IS NULL"
        row = await self._store.run(lambda db: db.execute(sql, (key_id,)).fetchone())
        return StoredKey(key_from_row(dict(row)), row["secret_sha256"]) if row else None

    async def revoke(self, key_id: str, at: datetime) -> bool:
        sql = "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
        cursor = await self._store.run(lambda db: db.execute(sql, (at.isoformat(), key_id)))
        return cursor.rowcount > 0


class PostgresKeyTable:
    def __init__(self, store: "PostgresTaskStore") -> None:
        self._store = store

    async def insert(self, stored: StoredKey) -> None:
        key = stored.key
        values = (key.id, key.name, key.scope.value, stored.secret_sha256, key.created_at)
        sql = f"INSERT INTO api_keys ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, NULL)"

        async def insert(connection: "Connection") -> None:
            await connection.execute(sql, values)

        await self._store.run(insert)

    async def select(self, *, active_only: bool) -> list[ApiKey]:
        where = "WHERE revoked_at IS NULL" if active_only else ""
        sql = f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at"

        async def select(connection: "Connection") -> list[ApiKey]:
            rows = await (await connection.execute(sql)).fetchall()
            return [key_from_row(row) for row in rows]

        return await self._store.run(select)

    async def find_active(self, key_id: str) -> StoredKey | None:
        sql = f"SELECT {_COLUMNS} FROM api_keys WHERE id = %s AND revoked_at IS NULL"

        async def find(connection: "Connection") -> StoredKey | None:
            row = await (await connection.execute(sql, (key_id,))).fetchone()
            return StoredKey(key_from_row(row), row["secret_sha256"]) if row else None

        return await self._store.run(find)

    async def revoke(self, key_id: str, at: datetime) -> bool:
        sql = "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL"

        async def revoke(connection: "Connection") -> bool:
            return (await connection.execute(sql, (at, key_id))).rowcount > 0

        return await self._store.run(revoke)


def key_store(store: TaskStore) -> KeyStore:
    """The keys in the database of `store` (open)."""
    if is_postgres(store):
        return KeyStore(PostgresKeyTable(store))
    if isinstance(store, SqliteTaskStore):
        return KeyStore(SqliteKeyTable(store))
    raise TypeError(f"no key table for a {type(store).__name__}")


@asynccontextmanager
async def opened_key_store(settings: Settings) -> AsyncIterator[KeyStore]:
    """The keys of the database `settings` name, for the command line: the store is opened
    (and migrated) for the while, beside any service running on it. Raises UnusableFolder
    for a data folder (embedded mode) that cannot be made or written in."""
    if not settings.distributed:
        # The command line may come first, before any service made the data folder.
        await asyncio.to_thread(settings.create_data_folder)
    store = open_store(settings, announce=lambda: None)
    await store.open()
    try:
        yield key_store(store)
    finally:
        await store.close()
