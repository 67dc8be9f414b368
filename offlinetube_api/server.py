"""The HTTP protocol the server runs: uvicorn's httptools protocol with two limits uvicorn does
not have, against slow-loris clients that open many connections and trickle their headers.

- A connection that has not sent a whole request head `header_timeout` seconds after it
  opened, or after the first byte of its next request, is closed (nginx's
  `client_header_timeout`). uvicorn's keep-alive timeout stops counting at the first byte.
- A client address holds at most `max_connections_per_client` connections; one more is
  answered `503` and closed at once, so its file descriptor is free again.

And one economy: what an answer writes within one step of the event loop leaves in one
system call. uvicorn writes a response's head and its body separately, and the event loop
sends each at once: two `write` calls and two TCP segments for every small answer (a
thumbnail: 286 bytes, then 13,015), where nginx sends one.
"""

import asyncio
import json
import logging
from collections import Counter
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from offlinetube_api.config import Settings

logger = logging.getLogger(__name__)

TOO_MANY_CONNECTIONS_RETRY_AFTER_S = 10


def _refusal() -> bytes:
    body = json.dumps({"detail": "Too many connections from this address; try again later"})
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"retry-after: {TOO_MANY_CONNECTIONS_RETRY_AFTER_S}\r\n"
        "x-content-type-options: nosniff\r\n"
        "connection: close\r\n\r\n"
    )
    return (head + body).encode()


_REFUSAL = _refusal()


# Once this many bytes wait, they go out at once rather than at the end of the step. Held back,
# a 1 MiB range answer ran at half the rate (random 1 MiB ranges, 4 connections: 457-492
# against 981-1,080 MiB/s; sent at once in one `writev` with its head, 994-1,087, measured
# 2026-12-01); and a producer that writes without yielding would pile up its whole answer here,
# out of reach of the flow control that pauses it when the socket is full. 64 KiB is the event
# loop's own high-water mark, above which a write pauses the writer anyway.
SEND_AT_ONCE_BYTES = 64 * 1024


class CoalescedWrites:
    """A connection's transport whose writes wait for the end of the current event-loop step
    and then go out together (`writelines`: one `writev` under uvloop), unless
    SEND_AT_ONCE_BYTES wait: then at once, in the same call. Everything else is the
    transport's own; a close sends what waits first, an abort drops it, as for any buffered
    data. The bytes written must not change afterwards: ASGI bodies are `bytes`."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._waiting: list[bytes] = []
        self._waiting_bytes = 0

    def write(self, data: bytes) -> None:
        if not self._waiting:
            self._loop.call_soon(self._send_waiting)
        self._waiting.append(data)
        self._waiting_bytes += len(data)
        if self._waiting_bytes >= SEND_AT_ONCE_BYTES:
            self._send_waiting()  # the scheduled call then finds nothing left

    def _send_waiting(self) -> None:
        waiting, self._waiting, self._waiting_bytes = self._waiting, [], 0
        if waiting and not self._transport.is_closing():
            self._transport.writelines(waiting)

    def close(self) -> None:
        self._send_waiting()
        self._transport.close()

    def abort(self) -> None:
        self._waiting = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """One connection. Made for one server by `guarded_http_protocol`, which gives the class
    its limits and its own count of connections per client address."""

    header_timeout_s: ClassVar[float]
    max_connections_per_client: ClassVar[int]
    connections_by_client: ClassVar[Counter[str]]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._counted_as: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescedWrites(transport, self.loop))  # type: ignore[arg-type]
        if self.client is not None:
            self._counted_as = self.client[0]
            self.connections_by_client[self._counted_as] += 1
            if self.connections_by_client[self._counted_as] > self.max_connections_per_client:
                logger.warning("refusing a connection: too many from %s", self._counted_as)
                transport.write(_REFUSAL)
                transport.close()
                return
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        if self._counted_as is not None:
            self.connections_by_client[self._counted_as] -= 1
            if self.connections_by_client[self._counted_as] <= 0:
                del self.connections_by_client[self._counted_as]
            self._counted_as = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_deadline()  # the next request on a kept-alive connection

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        super().on_headers_complete()

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            logger.info(
                "closing a connection from %s: no whole request head within %g s",
                self._counted_as,
                self.header_timeout_s,
            )
            self.transport.close()


def guarded_http_protocol(settings: Settings) -> type[GuardedHttpProtocol]:
    """The protocol class for one server (`uvicorn.run(..., http=...)`), with the limits of
    `settings` (`header_timeout`, `max_connections_per_client`)."""
    return type(
        "GuardedHttpProtocol",
        (GuardedHttpProtocol,),
        {
            "header_timeout_s": settings.header_timeout,
            "max_connections_per_client": settings.max_connections_per_client,
            "connections_by_client": Counter(),
        },
    )
