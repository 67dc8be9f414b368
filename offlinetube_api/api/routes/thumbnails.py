"""GET/HEAD /api/thumbnails/{task_id}: served from memory with an ETag, answering 304 to
`If-None-Match`; the common request by a middleware ahead of the middleware stack and the
router, so the library page's burst of `<img>` requests skips FastAPI's per-request machinery
(see bench/RESULTS.md for the figures)."""

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from offlinetube_api.api.auth import media_access
from offlinetube_api.api.media_response import MediaFileResponse
from offlinetube_api.api.nosniff import NOSNIFF_HEADER
from offlinetube_api.api.openapi import CONTENT_RANGE, VALIDATORS, binary
from offlinetube_api.api.origins import HostCheck
from offlinetube_api.errors import THUMBNAIL_NOT_FOUND, OfflineTubeError, ThumbnailNotFound
from offlinetube_api.schemas import ErrorMessage
from offlinetube_api.thumbnail_cache import Thumbnail, ThumbnailCache

PATH = "/api/thumbnails/{task_id}"
# Browsers revalidate on every use, so a removed or replaced thumbnail shows at once; the
# revalidation is a 304 without a body.
CACHE_CONTROL = "public, no-cache"
CACHE_CONTROL_RAW = CACHE_CONTROL.encode()

router = APIRouter(prefix="/api/thumbnails", tags=["media"])


def thumbnail_cache(app: FastAPI) -> ThumbnailCache:
    """The app's cache, made in its lifespan."""
    cache: ThumbnailCache = app.state.thumbnail_cache
    return cache


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison against a list of tags, or `*`."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def thumbnail_response(thumbnail: Thumbnail, if_none_match: str | None) -> Response:
    headers = {
        "etag": thumbnail.etag,
        "last-modified": thumbnail.last_modified,
        "cache-control": CACHE_CONTROL,
    }
    if if_none_match is not None and _matches(if_none_match, thumbnail.etag):
        return Response(status_code=304, headers=headers)
    if thumbnail.body is None:  # too large to keep: from disk, with ranges
        return MediaFileResponse(thumbnail.path, media_type=thumbnail.media_type, headers=headers)
    return Response(thumbnail.body, media_type=thumbnail.media_type, headers=headers)


class ThumbnailsFirst:
    """Middleware, just inside the request counter, that answers the common thumbnail request
    itself: a GET or HEAD of `/api/thumbnails/<id>` without `Origin`, from a host `hosts`
    admits, with access granted, for a thumbnail held in memory. A library page asks for dozens
    at once, and the middleware stack and the router cost more than such an answer (bench
    figure 1). Every other request, a refusal or a miss included, goes on through the stack to
    the documented route below, which answers it with CORS and error handling like any route.

    The lookup runs on the event loop on purpose: a hit costs at most three `lstat` calls of a
    local folder (microseconds), while a hop to a worker thread costs more than the answer."""

    _PREFIX = PATH.removesuffix("{task_id}")

    def __init__(self, app: ASGIApp, *, hosts: HostCheck) -> None:
        self._app = app
        self._hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and await self._answered(scope, send)
        )
        if not answered:
            await self._app(scope, receive, send)

    async def _answered(self, scope: Scope, send: Send) -> bool:
        task_id = scope["path"].removeprefix(self._PREFIX)
        if task_id == scope["path"] or not task_id or "/" in task_id:
            return False
        host, if_none_match = "", None
        for name, value in scope["headers"]:
            if name == b"origin":
                return False  # a cross-origin read: CORSMiddleware's to answer
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        if not await self._hosts.admits(scope, host) or not await _access_granted(scope):
            return False
        thumbnail = thumbnail_cache(scope["app"]).probe(task_id)
        if thumbnail is None or thumbnail.body is None:
            return False  # a 404, or a large file served from disk with ranges
        scope["route"] = _GET_ROUTE  # the request counter's route label
        not_modified = if_none_match is not None and _matches(if_none_match, thumbnail.etag)
        await send(
            {
                "type": "http.response.start",
                "status": 304 if not_modified else 200,
                "headers": _raw_headers(thumbnail, with_body=not not_modified),
            }
        )
        bodyless = not_modified or scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if bodyless else thumbnail.body})
        return True


async def _access_granted(scope: Scope) -> bool:
    request = Request(scope)
    query = request.query_params if scope["query_string"] else {}
    auth = scope["app"].state.auth
    try:
        await media_access(request, auth, query.get("exp"), query.get("sig"), query.get("kid"))
    except OfflineTubeError:
        return False
    return True


def _raw_headers(thumbnail: Thumbnail, *, with_body: bool) -> list[tuple[bytes, bytes]]:
    """What thumbnail_response's answer carries once through the stack, for a request without
    `Origin`: CORSMiddleware adds `Vary: Origin` to every such answer, NoSniff its header."""
    headers = [
        (b"etag", thumbnail.etag.encode()),
        (b"last-modified", thumbnail.last_modified.encode()),
        (b"cache-control", CACHE_CONTROL_RAW),
    ]
    if with_body:
        headers.append((b"content-length", str(thumbnail.size).encode()))
        headers.append((b"content-type", thumbnail.media_type.encode()))
    headers.append((b"vary", b"Origin"))
    headers.append(NOSNIFF_HEADER)
    return headers


IMAGE_TYPES = ("image/jpeg", "image/webp", "image/png")
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": binary(*IMAGE_TYPES),
        "description": "The thumbnail, with `Cache-Control: no-cache`.",
        "headers": VALIDATORS,
    },
    206: {
        "content": binary(*IMAGE_TYPES),
        "description": "A byte range: thumbnails too large to keep in memory take ranges.",
        "headers": VALIDATORS | CONTENT_RANGE,
    },
    304: {
        "description": "`If-None-Match` matched: the copy the client has is current.",
        "headers": VALIDATORS,
    },
    400: {"model": ErrorMessage, "description": "A `Range: bytes=...` header that does not parse."},
    404: {
        "model": ErrorMessage,
        "description": "No local thumbnail.",
        "content": {"application/json": {"example": {"detail": THUMBNAIL_NOT_FOUND}}},
    },
    416: {
        "model": ErrorMessage,
        "description": "The range starts beyond the end of the file.",
        "headers": CONTENT_RANGE,
    },
}


@router.head(
    "/{task_id}",
    response_class=MediaFileResponse,
    operation_id="get_thumbnail_head",
    responses=ANSWERS,
)
@router.get("/{task_id}", response_class=MediaFileResponse, responses=ANSWERS)
async def get_thumbnail(task_id: str, request: Request) -> Response:
    """The task's local thumbnail: `<id>.jpg`, else `.webp`, else `.png`."""
    thumbnail = thumbnail_cache(request.app).probe(task_id)
    if thumbnail is None:
        raise ThumbnailNotFound()
    return thumbnail_response(thumbnail, request.headers.get("if-none-match"))


_GET_ROUTE = next(
    route
    for route in router.routes
    if isinstance(route, APIRoute) and "GET" in (route.methods or ())
)
