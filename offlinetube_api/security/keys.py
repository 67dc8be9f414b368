"""API keys: made once, shown once, stored only as a hash, checked in constant time.

A key reads `otk_<key id>_<secret>`: the id finds the row, the secret is compared by hash."""

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from offlinetube_api.security.private_files import private_file, private_folder

KEY_PREFIX = "otk"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


class Scope(StrEnum):
    """Each scope includes the ones before it: read < download < admin."""

    READ = "read"
    DOWNLOAD = "download"
    ADMIN = "admin"

    def allows(self, needed: "Scope") -> bool:
        order = list(Scope)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key_from_row(row: sqlite3.Row) -> ApiKey:
    revoked = row["revoked_at"]
    return ApiKey(
        id=row["id"],
        name=row["name"],
        scope=Scope(row["scope"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )


class KeyStore:
    """Keys live in the service's SQLite database, in a table of their own. Blocking: the API
    calls it from a thread; the command line calls it directly."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._schema_ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call, closed after it: `with sqlite3.connect()` alone only
        commits, and a leaked handle would keep the WAL from being checkpointed at exit."""
        if not self._schema_ready:  # once per store, not on every request's key check
            private_folder(self._database.parent)
            private_file(self._database)
        connection = sqlite3.connect(self._database, isolation_level=None, timeout=5)
        try:
            connection.row_factory = sqlite3.Row
            if not self._schema_ready:
                connection.executescript(_SCHEMA)
                self._schema_ready = True
            yield connection
        finally:
            connection.close()

    def create(self, *, name: str, scope: Scope) -> tuple[ApiKey, str]:
        """The new key and its full text, which is never stored and cannot be shown again."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(key_id, name, scope, datetime.now(UTC), None)
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                (key.id, name, scope.value, _digest(secret), key.created_at.isoformat()),
            )
        return key, f"{KEY_PREFIX}_{key_id}_{secret}"

    def all(self) -> list[ApiKey]:
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()
        return [_key_from_row(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        with self._connect() as connection:
            cursor = connection.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), key_id),
            )
        return cursor.rowcount > 0

    def active(self) -> list[ApiKey]:
        """The keys not revoked, oldest first."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT * FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at"
            ).fetchall()
        return [_key_from_row(row) for row in rows]

    def verify(self, presented: str) -> ApiKey | None:
        """The active key `presented` is, or None."""
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            return None
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM api_keys WHERE id = ? AND revoked_at IS NULL", (key_id,)
            ).fetchone()
        # Compare even when there is no such key, so timing does not tell which ids exist.
        expected = row["secret_sha256"] if row else _digest(secrets.token_urlsafe(32))
        if not hmac.compare_digest(expected, _digest(secret)) or row is None:
            return None
        return _key_from_row(row)
