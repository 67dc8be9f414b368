"""How often one client may start downloads: a moving window per identity, in memory, counted by
the `limits` package. One `DownloadRateLimit` per app, made in its lifespan."""

import math
import time

from fastapi import HTTPException, Request, status
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

_NAMESPACE = "download"


class DownloadRateLimit:
    """At most `per_minute` downloads started by one identity in any 60 seconds."""

    def __init__(self, per_minute: int) -> None:
        self._item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, identity: str) -> int | None:
        """Counts one request of `identity`: None if allowed, else whole seconds until one is."""
        if await self._limiter.hit(self._item, _NAMESPACE, identity):
            return None
        stats = await self._limiter.get_window_stats(self._item, _NAMESPACE, identity)
        return max(1, math.ceil(stats.reset_time - time.time()))


def client_identity(request: Request) -> str:
    """Whom a limit applies to: the API key when the request carried one (the scope check,
    which runs first, has put it on the request), else the client's address."""
    key = getattr(request.state, "api_key", None)
    if key is not None:
        return f"key:{key.id}"
    return f"address:{request.client.host}" if request.client else "address:unknown"


async def limit_downloads(request: Request) -> None:
    """A dependency of `POST /api/download`: 429 with `Retry-After` once over the limit."""
    rate_limit: DownloadRateLimit = request.app.state.download_rate_limit
    retry_after_s = await rate_limit.hit(client_identity(request))
    if retry_after_s is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"Too many downloads started; try again in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )
