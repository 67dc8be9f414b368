"""Domain exceptions and their one mapping to HTTP answers."""

import json
import logging
from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

THUMBNAIL_NOT_FOUND = "Miniatura no encontrada"


class OfflineTubeError(Exception):
    """Base of every error the service reports to a client."""

    status_code = 400
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def response_headers(self) -> dict[str, str] | None:
        """The headers of the answer: the class's, unless an instance knows more."""
        return self.headers


class Unauthorized(OfflineTubeError):
    status_code = 401
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Forbidden(OfflineTubeError):
    status_code = 403


class TaskNotFound(OfflineTubeError):
    status_code = 404

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id!r} not found")


class TaskConflict(OfflineTubeError):
    """The task is not in a state that allows this (cancel a finished one, retry a running one)."""

    status_code = 409


class PlaylistNotFound(OfflineTubeError):
    status_code = 404

    def __init__(self, playlist_id: str) -> None:
        super().__init__(f"Playlist {playlist_id!r} not found")


class MediaNotFound(OfflineTubeError):
    status_code = 404


class VideoNotFound(MediaNotFound):
    def __init__(self) -> None:
        super().__init__("Video not found")


class ThumbnailNotFound(MediaNotFound):
    """The seed's exact 404, kept byte for byte for its clients."""

    def __init__(self) -> None:
        super().__init__(THUMBNAIL_NOT_FOUND)


class QueueFull(OfflineTubeError):
    """`max_queued` tasks are already waiting; nothing more is accepted until some start."""

    status_code = 503
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "30"}

    def __init__(self, max_queued: int) -> None:
        super().__init__(f"The queue is full ({max_queued} tasks waiting); try again later")


class TooManyEventStreams(OfflineTubeError):
    """OFFLINETUBE_MAX_EVENT_STREAMS (or the per-address cap) event streams are open already."""

    status_code = 503
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "30"}

    def __init__(self, why: str) -> None:
        super().__init__(f"{why}; close one or try again later")


class MalformedRange(OfflineTubeError):
    """A `Range: bytes=...` header that does not parse (RFC 9110 section 14.1.1)."""

    status_code = 400


class RangeNotSatisfiable(OfflineTubeError):
    """Every range of a `Range` header starts at or beyond the end of the file."""

    status_code = 416

    def __init__(self, size: int) -> None:
        super().__init__(f"The requested range starts beyond the end of the file ({size} bytes)")
        self.size = size

    def response_headers(self) -> dict[str, str]:
        # RFC 9110 section 15.5.17: a 416 says how long the representation is.
        return {"Content-Range": f"bytes */{self.size}"}


class StoreUnavailable(OfflineTubeError):
    """The database failed (damaged, read-only, disk full); `/api/health` says so too."""

    status_code = 503

    def __init__(self, reason: str) -> None:
        super().__init__(f"The database failed ({reason}); see /api/health")


class UnknownHost(OfflineTubeError):
    """A `Host` the service does not answer to while it runs without keys (DNS rebinding)."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"This service does not answer to the host {host!r} while it runs without API "
            "keys; add it to OFFLINETUBE_ALLOWED_HOSTS if it is yours"
        )


class CrossOriginWrite(Forbidden):
    """A page of another origin tried to change something."""

    def __init__(self, origin: str) -> None:
        super().__init__(
            f"Requests that change something are not accepted from pages of {origin!r}; "
            "name that origin in OFFLINETUBE_CORS_ORIGINS to allow it"
        )


def error_response(exc: OfflineTubeError) -> JSONResponse:
    return JSONResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=exc.response_headers()
    )


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: a 422 echoes the client's input, and a lone
    surrogate in it (valid in a JSON string, not in UTF-8) would fail FastAPI's UTF-8 encoding."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OfflineTubeError)
        return error_response(exc)

    async def handle_invalid_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return AsciiJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)

    app.add_exception_handler(OfflineTubeError, handle)
    app.add_exception_handler(RequestValidationError, handle_invalid_request)
    app.add_middleware(UnexpectedErrors)


class UnexpectedErrors:
    """A bug answers a JSON 500 and is logged with its traceback, and the connection stays
    usable. (Starlette's own last resort re-raises, and the server then drops the connection.)"""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, watch)
        except Exception:
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started or scope["type"] != "http":
                raise
            await JSONResponse({"detail": "Internal server error"}, status_code=500)(
                scope, receive, send
            )
