"""One signing secret per installation: the data folder's file in embedded mode, one row of
PostgreSQL that every replica shares in distributed mode."""

import asyncio
from pathlib import Path

import psycopg

from offlinetube_api.security.signing_secret import signing_secret
from offlinetube_api.store import PostgresTaskStore, SqliteTaskStore


def test_replicas_starting_together_share_one_secret(postgres_url: str, tmp_path: Path) -> None:
    async def replica(number: int) -> bytes:
        store = PostgresTaskStore(postgres_url)
        await store.open()
        try:
            return await signing_secret(store, data_dir=tmp_path / f"host-{number}")
        finally:
            await store.close()

    async def start_six() -> list[bytes]:
        return await asyncio.gather(*(replica(number) for number in range(6)))

    secrets = asyncio.run(start_six())

    assert len(set(secrets)) == 1 and len(secrets[0]) >= 32
    assert asyncio.run(replica(7)) == secrets[0], "and it survives restarts"
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT count(*) FROM signing_secret").fetchone() == (1,)
    assert not list(tmp_path.glob("**/signing.key")), "no host keeps a secret of its own"


def test_embedded_mode_keeps_its_secret_in_the_data_folder(tmp_path: Path) -> None:
    async def start() -> bytes:
        store = SqliteTaskStore(tmp_path / "db.sqlite3")
        await store.open()
        try:
            return await signing_secret(store, data_dir=tmp_path)
        finally:
            await store.close()

    secret = asyncio.run(start())

    assert (tmp_path / "signing.key").read_bytes() == secret
    assert asyncio.run(start()) == secret
