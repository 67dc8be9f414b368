"""API keys live in the store's database, SQLite or PostgreSQL alike; the command line reaches
the one the settings name, so a key made there is seen by every replica of that database."""

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg

from offlinetube_api.security.key_tables import key_store
from offlinetube_api.security.keys import Scope
from offlinetube_api.store import SqliteTaskStore
from tests.fixtures.stores import StoreFactory
from tests.store.legacy_sqlite import make_legacy_database


def test_a_key_made_is_verified_listed_and_refused_once_revoked(task_store: StoreFactory) -> None:
    async def scenario() -> None:
        async with task_store.opened() as store:
            keys = key_store(store)
            key, text = await keys.create(name="laptop", scope=Scope.DOWNLOAD)
            other, _ = await keys.create(name="phone", scope=Scope.READ)

            assert await keys.verify(text) == key
            assert await keys.verify(text + "x") is None
            assert await keys.verify(f"otk_{other.id}_{text.split('_', 2)[2]}") is None
            assert [k.id for k in await keys.active()] == [key.id, other.id]

            assert await keys.revoke(key.id)
            assert not await keys.revoke(key.id), "a key is revoked once"
            assert await keys.verify(text) is None
            assert [k.id for k in await keys.active()] == [other.id]
            listed = {k.id: k for k in await keys.all()}
            assert listed[key.id].revoked_at is not None and listed[other.id].revoked_at is None
            assert listed[key.id].created_at == key.created_at

    asyncio.run(scenario())


def test_keys_made_before_keys_were_migrated_are_kept(tmp_path: Path) -> None:
    """The releases before made `api_keys` themselves, outside any migration."""
    path = tmp_path / "db.sqlite3"
    make_legacy_database(path, 4)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, scope TEXT NOT "
            "NULL, secret_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)"
        )
        db.execute(
            "INSERT INTO api_keys VALUES ('0123456789ab', 'old', 'admin', 'x', "
            "'2025-01-02T03:04:05+00:00', NULL)"
        )

    async def reopen() -> list[str]:
        store = SqliteTaskStore(path)
        await store.open()
        try:
            return [key.name for key in await key_store(store).active()]
        finally:
            await store.close()

    assert asyncio.run(reopen()) == ["old"]


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"OFFLINETUBE_DATA_DIR": str(tmp_path / "data")} | env
    return subprocess.run(
        [sys.executable, "-m", "offlinetube_api", *args],
        capture_output=True, text=True, timeout=60, env=environment, cwd=tmp_path,
    )  # fmt: skip


def test_keys_command_uses_postgresql_when_the_settings_name_it(
    tmp_path: Path, postgres_url: str
) -> None:
    database = {"OFFLINETUBE_DATABASE_URL": postgres_url}
    created = _cli(tmp_path, "keys", "create", "--scope", "admin", "--name", "ops", **database)

    assert created.returncode == 0, created.stderr
    key_id = created.stdout.strip().split("_")[1]
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute("SELECT id, name, scope FROM api_keys").fetchall()
    assert rows == [(key_id, "ops", "admin")]
    assert key_id in _cli(tmp_path, "keys", "list", **database).stdout
    assert not (tmp_path / "data" / "offlinetube.sqlite3").exists(), "no SQLite on the side"
    forced = _cli(tmp_path, "keys", "revoke", key_id, "--force", **database)
    assert forced.returncode == 0, forced.stderr
    assert "revoked" in _cli(tmp_path, "keys", "list", **database).stdout
