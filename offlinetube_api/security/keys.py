"""API keys: made once, shown once, stored only as a hash, checked in constant time.

A key reads `otk_<key id>_<secret>`: the id finds the row, the secret is compared by hash.
Keys live in the `api_keys` table of the store's database (migration 0007), reached through the
store's own connections: the SQLite file in embedded mode; PostgreSQL in distributed mode, where
a key made or revoked with the command line counts on every replica at its next check."""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

KEY_PREFIX = "otk"


class LastAdminKey(Exception):
    """Revoking this key would leave no active admin key; `only_key`: nor any other key."""

    def __init__(self, key_id: str, *, only_key: bool) -> None:
        super().__init__(key_id)
        self.key_id = key_id
        self.only_key = only_key


class KeyNotActive(Exception):
    """No active key has this id."""


class Scope(StrEnum):
    """Each of read < download < admin includes the ones before it. `metrics` reads
    `/metrics` and nothing else, for a Prometheus server that should see no library; an admin
    key reads it too."""

    READ = "read"
    DOWNLOAD = "download"
    ADMIN = "admin"
    METRICS = "metrics"

    def allows(self, needed: "Scope") -> bool:
        if Scope.METRICS in (self, needed):
            return self in (needed, Scope.ADMIN)
        return _LIBRARY_SCOPES.index(self) >= _LIBRARY_SCOPES.index(needed)


_LIBRARY_SCOPES = (Scope.READ, Scope.DOWNLOAD, Scope.ADMIN)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A row of `api_keys`: the key and the SHA-256 of its secret (hex)."""

    key: ApiKey
    secret_sha256: str


class KeyTable(Protocol):
    """The `api_keys` table of one database; see sqlite_keys.py and postgres_keys.py."""

    async def insert(self, stored: StoredKey) -> None: ...

    async def select(self, *, active_only: bool) -> list[ApiKey]:
        """Oldest first."""
        ...

    async def find_active(self, key_id: str) -> StoredKey | None: ...

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """False when no active key has that id."""
        ...


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_from_row(row: Mapping[str, Any]) -> ApiKey:
    """A row of either database: timestamps are ISO text in SQLite, datetimes in PostgreSQL."""
    return ApiKey(
        id=row["id"],
        name=row["name"],
        scope=Scope(row["scope"]),
        created_at=_moment(row["created_at"]),
        revoked_at=_moment(row["revoked_at"]) if row["revoked_at"] else None,
    )


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class KeyStore:
    """What the API and the command line do with keys, on the table of either database."""

    def __init__(self, table: KeyTable) -> None:
        self._table = table

    async def create(self, *, name: str, scope: Scope) -> tuple[ApiKey, str]:
        """The new key and its full text, which is never stored and cannot be shown again."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(key_id, name, scope, datetime.now(UTC), None)
        await self._table.insert(StoredKey(key, _digest(secret)))
        return key, f"{KEY_PREFIX}_{key_id}_{secret}"

    async def all(self) -> list[ApiKey]:
        return await self._table.select(active_only=False)

    async def active(self) -> list[ApiKey]:
        """The keys not revoked, oldest first."""
        return await self._table.select(active_only=True)

    async def revoke(self, key_id: str) -> bool:
        return await self._table.revoke(key_id, datetime.now(UTC))

    async def revoke_checked(self, key_id: str, *, force: bool = False) -> None:
        """Revokes `key_id`, refusing (unless `force`) the last active admin key: without one
        no one can remove downloads, and a loopback service with no key at all opens up.
        Raises LastAdminKey, or KeyNotActive."""
        active = await self.active()
        admins = [key.id for key in active if key.scope is Scope.ADMIN]
        if admins == [key_id] and not force:
            raise LastAdminKey(key_id, only_key=len(active) == 1)
        if not await self.revoke(key_id):
            raise KeyNotActive(key_id)

    async def find_active(self, key_id: str) -> ApiKey | None:
        """The active key of that id, read from the database (a web session's key, on each
        request, as `verify` reads it for a key sent in a header)."""
        stored = await self._table.find_active(key_id)
        return stored.key if stored else None

    async def verify(self, presented: str) -> ApiKey | None:
        """The active key `presented` is, or None. Reads the database every time, so a key
        revoked on any host is refused at once."""
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            return None
        stored = await self._table.find_active(key_id)
        # Compare even when there is no such key, so timing does not tell which ids exist.
        expected = stored.secret_sha256 if stored else _digest(secrets.token_urlsafe(32))
        if not hmac.compare_digest(expected, _digest(secret)) or stored is None:
            return None
        return stored.key
