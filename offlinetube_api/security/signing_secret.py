"""Where the media-signing secret comes from: one per installation, so that a link signed by any
replica is accepted by every other.

Embedded mode has one host: the secret is `<data dir>/signing.key` (see signing.py).
Distributed mode has many, each with a data folder of its own: the secret is the one row of
`signing_secret` in PostgreSQL (migration 0008), made by whichever replica asks first."""

import asyncio
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from offlinetube_api.ports import TaskStore
from offlinetube_api.security.signing import SECRET_BYTES, load_or_create_secret
from offlinetube_api.store import is_postgres

if TYPE_CHECKING:  # loaded in distributed mode only
    from offlinetube_api.store.postgres import Connection

logger = logging.getLogger(__name__)


async def signing_secret(store: TaskStore, *, data_dir: Path) -> bytes:
    """The secret of the installation `store` (open) belongs to."""
    if is_postgres(store):
        return await store.run(_shared_secret)
    return await asyncio.to_thread(load_or_create_secret, data_dir / "signing.key")


async def _shared_secret(connection: "Connection") -> bytes:
    """Replicas starting together each offer a new secret; the first insert wins (the others
    wait for its commit, then do nothing), and everyone reads the winner in a statement of
    its own, whose snapshot sees that commit."""
    offered = secrets.token_bytes(SECRET_BYTES)
    made = await connection.execute(
        "INSERT INTO signing_secret (secret) VALUES (%s) ON CONFLICT DO NOTHING", (offered,)
    )
    if made.rowcount:
        logger.info("made the signing secret every replica shares, in the database")
    row = await (await connection.execute("SELECT secret FROM signing_secret")).fetchone()
    assert row is not None, "the row was made above or before, and is never deleted"
    secret: bytes = row["secret"]
    return secret
