"""Domain exceptions and their one mapping to HTTP answers."""

import json
import logging
from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
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

    def response_detail(self) -> object:
        """The answer's `detail`: the message, unless the route documents another shape."""
        return self.detail


class Unauthorized(OfflineTubeError):
    status_code = 401
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Forbidden(OfflineTubeError):
    status_code = 403


class TaskNotFound(OfflineTubeError):
    status_code = 404

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id!r} not found")


class CookieSetNotFound(OfflineTubeError):
    status_code = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"No cookie set is named {name!r}; GET /api/cookies lists them")


class Unprocessable(OfflineTubeError):
    """A 422 in FastAPI's documented validation shape (`HTTPValidationError`: a list of
    `{loc, msg, type}`), the one shape every 422 of this API answers, whether a parameter fails
    its declared type or a check of ours (a page yt-dlp cannot read, a bad cookies.txt), so a
    client parses one shape and shows `detail[0].msg`. `loc` names the part that is wrong."""

    status_code = 422

    def __init__(self, detail: str, loc: tuple[str, ...]) -> None:
        super().__init__(detail)
        self.loc = loc

    def response_detail(self) -> object:
        return [{"loc": list(self.loc), "msg": self.detail, "type": "value_error"}]


class UnknownCookieSet(Unprocessable):
    """A request names a cookie set there is none of: `cookies` of a download's body, unless
    `loc` says where else (the query of GET /api/info)."""

    def __init__(self, name: str, loc: tuple[str, ...] = ("body", "cookies")) -> None:
        super().__init__(
            f"Unknown cookie set {name!r}: upload it first with PUT /api/cookies/{name} "
            "(GET /api/cookies lists the sets there are)",
            loc,
        )
        self.name = name


class BadCookieFile(Unprocessable):
    """An upload that is not a Netscape cookies.txt; the message names the line, no value."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, ("body",))


class UnsupportedBody(OfflineTubeError):
    """A body sent as a media type the route does not read."""

    status_code = 415


class TaskConflict(OfflineTubeError):
    """The task is not in a state that allows this (cancel a finished one, retry a running one)."""

    status_code = 409


class PlaylistNotFound(OfflineTubeError):
    status_code = 404

    def __init__(self, playlist_id: str) -> None:
        super().__init__(f"Playlist {playlist_id!r} not found")


class SubscriptionNotFound(OfflineTubeError):
    status_code = 404

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"Subscription {subscription_id!r} not found")


class SubscriptionPaused(OfflineTubeError):
    status_code = 409

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"Subscription {subscription_id!r} is paused; resume it to check it")


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


class PageUnreadable(Unprocessable):
    """GET /api/info: yt-dlp could not read the page (no video on it, an HTTP error, a site it
    cannot handle, an address the SSRF guard refuses); the message is yt-dlp's."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, ("query", "url"))


class InfoTimedOut(OfflineTubeError):
    """GET /api/info: the page was not read within OFFLINETUBE_INFO_TIMEOUT_SECONDS."""

    status_code = 504

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            f"The page was not read within {timeout_s:g} s (OFFLINETUBE_INFO_TIMEOUT_SECONDS); "
            "the site may be slow or not answering"
        )


class InfoBusy(OfflineTubeError):
    """GET /api/info: this process already reads as many pages as it allows at once."""

    status_code = 503
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "5"}

    def __init__(self, running: int) -> None:
        super().__init__(f"{running} pages are being read already; try again in a few seconds")


class InfoProcessDied(OfflineTubeError):
    """GET /api/info: the info process ended without an answer (killed, out of memory)."""

    status_code = 500

    def __init__(self, exit_code: int | None) -> None:
        super().__init__(
            f"The process reading the page ended without an answer (exit code {exit_code}); "
            "the service log has the details"
        )


class YtdlpUpdateFailed(OfflineTubeError):
    """POST /api/admin/ytdlp/update: pip failed, or what it installed did not import; the
    version in use is unchanged. The message is ytdlp_install.UpdateFailed's."""

    status_code = 502


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
    """The database failed (damaged, read-only, disk full, PostgreSQL unreachable or every
    connection busy); `/api/health` says so too. `Retry-After` as the schema of every 503 declares
    it (RFC 9110 section 10.2.3): a PostgreSQL restart or a freed disk often mends it by then."""

    status_code = 503
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "30"}

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
        {"detail": exc.response_detail()},
        status_code=exc.status_code,
        headers=exc.response_headers(),
    )


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: a 422 echoes the client's input, and a lone
    surrogate in it (valid in a JSON string, not in UTF-8) would fail FastAPI's UTF-8 encoding."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def invalid_request(_: Request, exc: Exception) -> Response:
    """The API's 422: FastAPI's list of what failed, as JSON."""
    assert isinstance(exc, RequestValidationError)
    return AsciiJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OfflineTubeError)
        return error_response(exc)

    app.add_exception_handler(OfflineTubeError, handle)
    app.add_exception_handler(RequestValidationError, invalid_request)
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
