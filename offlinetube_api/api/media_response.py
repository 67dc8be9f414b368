"""Files served with HTTP ranges: Starlette's `FileResponse`, whose range parsing is kept as it
is, with two changes at the edge. A range unit other than `bytes` is ignored, as RFC 9110
section 14.2 requires (the whole file, 200), and a malformed or unsatisfiable range answers
JSON `{"detail": ...}` like every other client error, the 416 with `Content-Range: bytes */<size>`.
A single range (every seek of a `<video>`) and a whole file are read in pieces of `chunk_size`
(file_pieces.py).

An answer of one piece (a bounded range or a file of at most `chunk_size` bytes) is sent
without Starlette's disconnect listener, a task group per answer that cost 270 to 300 us of
event-loop time per request on this project's machine, more than the rest of a 1 MiB range's
answer: with one body message there is nothing left to stop when the client goes away. Longer
answers keep it, so that a client that leaves mid-stream stops the reads.
"""

import logging
import re
from urllib.parse import quote

from fastapi.responses import FileResponse
from starlette.datastructures import MutableHeaders
from starlette.responses import MalformedRangeHeader
from starlette.responses import RangeNotSatisfiable as StarletteRangeNotSatisfiable
from starlette.types import Receive, Scope, Send

from offlinetube_api.api.file_pieces import FilePieces, FileShrank
from offlinetube_api.errors import MalformedRange, RangeNotSatisfiable, error_response

logger = logging.getLogger(__name__)

_RANGE_EXAMPLE = "send e.g. `Range: bytes=0-1023`"
_BOUNDED_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def _range_unit(http_range: str) -> str | None:
    """The unit of `unit=ranges`, lower case; None when there is no `=` at all."""
    unit, equals, _ = http_range.partition("=")
    return unit.strip().lower() if equals else None


def _malformed(reason: str) -> MalformedRange:
    reason = reason.removeprefix("Range header: ").rstrip(".")
    return MalformedRange(f"Invalid Range header ({reason}); {_RANGE_EXAMPLE}")


class MediaFileResponse(FileResponse):
    """A `FileResponse` whose range errors are the service's JSON errors."""

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        # Starlette answers every range error itself, in text/plain, from inside __call__:
        # raising our own errors here carries them past its handlers, before anything is sent.
        unit = _range_unit(http_range)
        if unit is not None and unit != "bytes":
            return []  # no ranges: the whole file
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader as exc:
            raise _malformed(exc.content) from exc
        except StarletteRangeNotSatisfiable as exc:
            raise RangeNotSatisfiable(exc.max_size) from exc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._one_piece(scope):
            # Starlette listens for a disconnect only for servers older than ASGI 2.4, where a
            # send to a client that is gone does not raise.
            scope = {**scope, "asgi": {**scope.get("asgi", {}), "spec_version": "2.4"}}
        try:
            await super().__call__(scope, receive, send)
        except (MalformedRange, RangeNotSatisfiable) as exc:
            await error_response(exc)(scope, receive, send)

    def _one_piece(self, scope: Scope) -> bool:
        if self.stat_result is None:
            return False
        if self.stat_result.st_size <= self.chunk_size:
            return True
        http_range: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"if-range":
                return False  # a stale validator turns the range into the whole file
            if name == b"range" and http_range is None:
                http_range = value  # the first, as Starlette reads it
        bounded = _BOUNDED_RANGE.fullmatch(http_range.decode("latin-1")) if http_range else None
        return bounded is not None and int(bounded[2]) - int(bounded[1]) < self.chunk_size

    async def _handle_single_range(
        self, send: Send, start: int, end: int, file_size: int, send_header_only: bool
    ) -> None:
        # Starlette's, with the bytes [start, end) read by FilePieces: its head is the same.
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-range"] = f"bytes {start}-{end - 1}/{file_size}"
        headers["content-length"] = str(end - start)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        if send_header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await self._send_pieces(send, start, end)

    async def _handle_simple(self, send: Send, send_header_only: bool, send_pathsend: bool) -> None:
        # Starlette's, with the whole file read by FilePieces as ranges are, when its size is
        # known from the start (the routes pass the stat they took).
        if send_header_only or send_pathsend or self.stat_result is None:
            await super()._handle_simple(send, send_header_only, send_pathsend)
            return
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await self._send_pieces(send, 0, self.stat_result.st_size)

    async def _send_pieces(self, send: Send, start: int, end: int) -> None:
        """The bytes [start, end) as body messages of at most `chunk_size` bytes."""
        if start == end:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        async with FilePieces(self.path, stop=end) as pieces:
            while start < end:
                size = min(self.chunk_size, end - start)
                try:
                    piece = await pieces.read(start, size)
                except FileShrank as exc:
                    # Too late for an error status: returning without the promised bytes makes
                    # the server close the connection, which tells the client the body is cut.
                    logger.warning("answer cut short, the file shrank while served: %s", exc)
                    return
                start += size
                await send({"type": "http.response.body", "body": piece, "more_body": start < end})


def content_disposition(disposition: str, *, fallback: str, name: str | None) -> str:
    """`inline` or `attachment` with `filename="<fallback>"` for old clients and, when `name`
    differs, `filename*=UTF-8''<name>` (RFC 6266 and RFC 8187), which browsers prefer.
    `fallback` must be plain ASCII without quotes (our own `video__<id>.<ext>` names are)."""
    value = f'{disposition}; filename="{fallback}"'
    if name and name != fallback:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value
