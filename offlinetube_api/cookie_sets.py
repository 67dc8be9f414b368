"""Cookie sets: Netscape cookies.txt files an admin uploads, kept in the store's database (the
`cookie_sets` table, migration 0012) and handed to a download as a private file of its own.

In the database rather than in a folder because in distributed mode the data folder is each
host's own, while every worker reads the same PostgreSQL; in embedded mode the table lives in
the SQLite file of the data folder, which is 0600. A download gets a copy of its set's text in
a 0600 file made for it alone, deleted when its process has ended: yt-dlp writes the cookies
back to that file as it closes, and what it writes is not saved, so a download never changes
a stored set. A value never leaves this module but in that file: the listing reads the domain
summary saved beside the text, never the text."""

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from pydantic import TypeAdapter

from offlinetube_api.cookie_files import DomainCookies, domain_matches, parse
from offlinetube_api.errors import CookieSetNotFound, UnknownCookieSet
from offlinetube_api.ports import TaskStore
from offlinetube_api.security.private_files import private_folder
from offlinetube_api.store import SqliteTaskStore, is_postgres

if TYPE_CHECKING:  # loaded in distributed mode only
    from offlinetube_api.store.postgres import Connection, PostgresTaskStore

logger = logging.getLogger(__name__)

MAX_COOKIE_FILE_BYTES = 256 * 1024
# In the data folder: where each download's private copy of its cookie set lives meanwhile.
COOKIE_FILES = "cookie-files"
_COPY_PREFIX = "cookies-"
_DOMAINS_JSON = TypeAdapter(list[DomainCookies])


@dataclass(frozen=True, slots=True)
class CookieSet:
    """A stored set as the listing shows it: no value in it."""

    name: str
    domains: tuple[DomainCookies, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ChosenCookies:
    """The set a download uses, with its text (kept out of repr, so no log shows it)."""

    name: str
    text: str = field(repr=False)


class CookieTable(Protocol):
    """The `cookie_sets` table of one database."""

    async def put(self, name: str, text: str, domains_json: str, at: datetime) -> None: ...

    async def delete(self, name: str) -> bool: ...

    async def summaries(self) -> list[dict[str, Any]]:
        """Rows of name, domains (JSON) and updated_at, by name."""
        ...

    async def text(self, name: str) -> str | None: ...


class CookieSets:
    """What the API and the download runner do with cookie sets, on either database."""

    def __init__(self, table: CookieTable) -> None:
        self._table = table

    async def save(self, name: str, text: str) -> CookieSet:
        """Adds or replaces the set `name`. Raises BadCookieFile for a text that is not a
        cookies.txt with at least one cookie."""
        domains = await asyncio.to_thread(parse, text)
        at = datetime.now(UTC)
        await self._table.put(name, text, _DOMAINS_JSON.dump_json(domains).decode(), at)
        logger.info("cookie set %r saved, for %s", name, ", ".join(d.domain for d in domains))
        return CookieSet(name, tuple(domains), at)

    async def remove(self, name: str) -> None:
        """Raises CookieSetNotFound."""
        if not await self._table.delete(name):
            raise CookieSetNotFound(name)
        logger.info("cookie set %r removed", name)

    async def all(self) -> list[CookieSet]:
        """Every set, by name."""
        return [_cookie_set(row) for row in await self._table.summaries()]

    async def exists(self, name: str) -> bool:
        return any(cookie_set.name == name for cookie_set in await self.all())

    async def choose(self, url: str, name: str | None = None) -> ChosenCookies | None:
        """The cookies a request for `url` uses: the set `name` when given (raises
        UnknownCookieSet, a 422, when there is none), else the set with a domain that matches the
        URL's host (cookie_files.domain_matches; the most specific domain wins, then the
        newest upload), else None."""
        if name is None:
            name = best_match(urlsplit(url).hostname or "", await self.all())
            if name is None:
                return None
        text = await self._table.text(name)
        if text is None:
            raise UnknownCookieSet(name)
        return ChosenCookies(name, text)


def _cookie_set(row: dict[str, Any]) -> CookieSet:
    updated_at = row["updated_at"]
    if isinstance(updated_at, str):
        updated_at = datetime.fromisoformat(updated_at)
    domains = row["domains"]  # JSON text in SQLite, decoded jsonb in PostgreSQL
    if isinstance(domains, str):
        domains = _DOMAINS_JSON.validate_json(domains)
    else:
        domains = _DOMAINS_JSON.validate_python(domains)
    return CookieSet(row["name"], tuple(domains), updated_at)


def best_match(host: str, sets: Sequence[CookieSet]) -> str | None:
    """The name of the set whose domains match `host` best, or None when none matches."""
    scored = [
        (max(domain_matches(host, d.domain) for d in each.domains), each.updated_at, each.name)
        for each in sets
    ]
    best = max(scored, default=None)
    return best[2] if best and best[0] else None


@contextlib.asynccontextmanager
async def cookie_file(chosen: ChosenCookies | None, folder: Path) -> AsyncIterator[str | None]:
    """The path of a new 0600 file in `folder` (made 0700) holding `chosen`'s text, for one
    download process; deleted on leaving, whatever yt-dlp wrote back into it. None for
    None."""
    if chosen is None:
        yield None
        return
    path = await asyncio.to_thread(_write_private, folder, chosen.text)
    try:
        yield path
    finally:
        await asyncio.to_thread(Path(path).unlink, missing_ok=True)


def _write_private(folder: Path, text: str) -> str:
    private_folder(folder)
    handle, path = tempfile.mkstemp(prefix=_COPY_PREFIX, suffix=".txt", dir=folder)  # 0600
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    return path


_UPSERT = (
    "INSERT INTO cookie_sets (name, cookies, domains, updated_at) VALUES ({values}) "
    "ON CONFLICT (name) DO UPDATE SET cookies = excluded.cookies, "
    "domains = excluded.domains, updated_at = excluded.updated_at"
)
_SUMMARIES = "SELECT name, domains, updated_at FROM cookie_sets ORDER BY name"


def sweep_cookie_files(folder: Path) -> int:
    """Deletes the copies a crash left in `folder` (a process killed before it could delete
    its downloads' copies); how many went. Only for a data folder no other process uses:
    embedded mode holds its data folder alone, while workers of distributed mode may share
    one, each with downloads running. Blocking."""
    stale = list(folder.glob(f"{_COPY_PREFIX}*.txt")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


class SqliteCookieTable:
    def __init__(self, store: SqliteTaskStore) -> None:
        self._store = store

    async def put(self, name: str, text: str, domains_json: str, at: datetime) -> None:
        sql = _UPSERT.format(values="?, ?, ?, ?")
        values = (name, text, domains_json, at.isoformat())
        await self._store.run(lambda db: db.execute(sql, values))

    async def delete(self, name: str) -> bool:
        sql = "DELETE FROM cookie_sets WHERE name = ?"
        cursor = await self._store.run(lambda db: db.execute(sql, (name,)))
        return cursor.rowcount > 0

    async def summaries(self) -> list[dict[str, Any]]:
        return await self._store.run(lambda db: [dict(row) for row in db.execute(_SUMMARIES)])

    async def text(self, name: str) -> str | None:
        sql = "SELECT cookies FROM cookie_sets WHERE name = ?"
        row = await self._store.run(lambda db: db.execute(sql, (name,)).fetchone())
        return str(row["cookies"]) if row else None


class PostgresCookieTable:
    def __init__(self, store: "PostgresTaskStore") -> None:
        self._store = store

    async def put(self, name: str, text: str, domains_json: str, at: datetime) -> None:
        sql = _UPSERT.format(values="%s, %s, %s::jsonb, %s")

        async def put(connection: "Connection") -> None:
            await connection.execute(sql, (name, text, domains_json, at))

        await self._store.run(put)

    async def delete(self, name: str) -> bool:
        async def delete(connection: "Connection") -> bool:
            sql = "DELETE FROM cookie_sets WHERE name = %s"
            return (await connection.execute(sql, (name,))).rowcount > 0

        return await self._store.run(delete)

    async def summaries(self) -> list[dict[str, Any]]:
        async def select(connection: "Connection") -> list[dict[str, Any]]:
            return list(await (await connection.execute(_SUMMARIES)).fetchall())

        return await self._store.run(select)

    async def text(self, name: str) -> str | None:
        async def select(connection: "Connection") -> str | None:
            sql = "SELECT cookies FROM cookie_sets WHERE name = %s"
            row = await (await connection.execute(sql, (name,))).fetchone()
            return str(row["cookies"]) if row else None

        return await self._store.run(select)


def cookie_sets(store: TaskStore) -> CookieSets:
    """The cookie sets in the database of `store` (open)."""
    if is_postgres(store):
        return CookieSets(PostgresCookieTable(store))
    if isinstance(store, SqliteTaskStore):
        return CookieSets(SqliteCookieTable(store))
    raise TypeError(f"no cookie table for a {type(store).__name__}")
