"""How many event streams may be open at once. Each holds a connection, a queue and a task for
as long as its client stays, so without a cap one client could open them until the service
runs out of memory. One `EventStreamLimit` per app, made in its lifespan."""

from collections import Counter
from collections.abc import Callable

from fastapi import Request

from offlinetube_api.errors import TooManyEventStreams


class EventStreamLimit:
    """At most `total` open streams, and at most `per_client` for one client address. Used
    from the event loop only."""

    def __init__(self, *, total: int, per_client: int) -> None:
        self._total = total
        self._per_client = per_client
        self._open = 0
        self._by_client: Counter[str] = Counter()

    @property
    def streams_open(self) -> int:
        return self._open

    def open(self, client: str) -> Callable[[], None]:
        """Counts one more stream of `client` and returns what gives its place back once it
        has ended (calling that again does nothing). Raises TooManyEventStreams when full."""
        if self._by_client[client] >= self._per_client:
            raise TooManyEventStreams(
                f"This address already has {self._per_client} event streams open"
            )
        if self._open >= self._total:
            raise TooManyEventStreams(f"The service already has {self._total} event streams open")
        self._open += 1
        self._by_client[client] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._open -= 1
                self._by_client[client] -= 1
                if self._by_client[client] <= 0:
                    del self._by_client[client]

        return release


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
