"""How often one client may start downloads: a moving window per identity. Embedded mode counts
in memory with the `limits` package; distributed mode counts in PostgreSQL, which every replica
shares, so N replicas behind a proxy do not allow N times the limit (`limits` has no storage in
a SQL database). One limit per app, made in its lifespan by `download_rate_limit`."""

import math
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from fastapi import HTTPException, Request, status
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from offlinetube_api.ports import TaskStore
from offlinetube_api.store import is_postgres

if TYPE_CHECKING:  # loaded in distributed mode only
    from offlinetube_api.store.postgres import Connection, PostgresTaskStore

_NAMESPACE = "download"
_WINDOW = timedelta(minutes=1)
# pg_advisory_xact_lock(class, hashtext(identity)): one count-then-insert per identity at a time.
_LOCK_CLASS = 0x6F74_726C  # "otrl"
_COUNT = """
    SELECT count(*) AS used, min(at) AS oldest, clock_timestamp() AS now
    FROM download_rate_hits
    WHERE identity = %(identity)s AND at > clock_timestamp() - %(window)s"""


class RateLimit(Protocol):
    async def hit(self, identity: str) -> int | None:
        """Counts one request of `identity`: None if allowed, else whole seconds until one
        is. A refused request is not counted."""
        ...


class DownloadRateLimit:
    """At most `per_minute` downloads started by one identity in any 60 seconds, in memory."""

    def __init__(self, per_minute: int) -> None:
        self._item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, identity: str) -> int | None:
        if await self._limiter.hit(self._item, _NAMESPACE, identity):
            return None
        stats = await self._limiter.get_window_stats(self._item, _NAMESPACE, identity)
        return max(1, math.ceil(stats.reset_time - time.time()))


class PostgresDownloadRateLimit:
    """The same window, counted in `download_rate_hits` (migration 0009) by the database's
    clock, so replicas whose clocks differ still count one window."""

    def __init__(
        self, store: "PostgresTaskStore", per_minute: int, *, prune_every_s: float = 60.0
    ) -> None:
        self._store = store
        self._per_minute = per_minute
        self._prune_every_s = prune_every_s
        self._pruned_at = time.monotonic()

    async def hit(self, identity: str) -> int | None:
        retry_after_s = await self._store.run(lambda db: self._hit(db, identity))
        if time.monotonic() - self._pruned_at >= self._prune_every_s:
            self._pruned_at = time.monotonic()
            await self._store.run(_prune)
        return retry_after_s

    async def _hit(self, connection: "Connection", identity: str) -> int | None:
        async with connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, identity)
            )
            counted = await connection.execute(_COUNT, {"identity": identity, "window": _WINDOW})
            row = await counted.fetchone()
            assert row is not None, "an aggregate always answers one row"
            now: datetime = row["now"]
            if row["used"] < self._per_minute:
                await connection.execute(
                    "INSERT INTO download_rate_hits (identity, at) VALUES (%s, %s)",
                    (identity, now),
                )
                return None
            oldest: datetime = row["oldest"]
            return max(1, math.ceil((oldest + _WINDOW - now).total_seconds()))


async def _prune(connection: "Connection") -> None:
    """Hits older than the window count for nobody; without this, every identity that ever
    posted would keep up to a minute's worth of rows."""
    await connection.execute(
        "DELETE FROM download_rate_hits WHERE at <= clock_timestamp() - %s", (_WINDOW,)
    )


def download_rate_limit(store: TaskStore, per_minute: int) -> RateLimit:
    """Shared through the database of `store` (open) in distributed mode, else in memory."""
    if is_postgres(store):
        return PostgresDownloadRateLimit(store, per_minute)
    return DownloadRateLimit(per_minute)


def client_identity(request: Request) -> str:
    """Whom a limit applies to: the API key when the request carried one (the scope check,
    which runs first, has put it on the request), else the client's address."""
    key = getattr(request.state, "api_key", None)
    if key is not None:
        return f"key:{key.id}"
    return f"address:{request.client.host}" if request.client else "address:unknown"


async def limit_downloads(request: Request) -> None:
    """A dependency of `POST /api/download`: 429 with `Retry-After` once over the limit."""
    await _limit(request, client_identity(request), "Too many downloads started")


async def limit_info(request: Request) -> None:
    """A dependency of `GET /api/info`: the same limit, counted apart from downloads, so a
    client that reads a page before downloading it is not held to half as many downloads."""
    await _limit(request, f"info/{client_identity(request)}", "Too many pages read")


async def _limit(request: Request, identity: str, refusal: str) -> None:
    rate_limit: RateLimit = request.app.state.download_rate_limit
    retry_after_s = await rate_limit.hit(identity)
    if retry_after_s is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{refusal}; try again in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )
