"""GET/HEAD /api/thumbnails/{task_id}: served from memory with an ETag, answering 304 to
`If-None-Match`, by a middleware ahead of the router, so the library page's burst of `<img>`
requests skips FastAPI's per-request machinery (see bench/RESULTS.md for the figures)."""

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from offlinetube_api.api.auth import media_access
from offlinetube_api.api.media_response import MediaFileResponse
from offlinetube_api.api.openapi import CONTENT_RANGE, VALIDATORS, binary
from offlinetube_api.errors import (
    THUMBNAIL_NOT_FOUND,
    OfflineTubeError,
    ThumbnailNotFound,
    error_response,
)
from offlinetube_api.schemas import ErrorMessage
from offlinetube_api.thumbnail_cache import Thumbnail, ThumbnailCache

PATH = "/api/thumbnails/{task_id}"
# Browsers revalidate on every use, so a removed or replaced thumbnail shows at once; the
# revalidation is a 304 without a body.
CACHE_CONTROL = "public, no-cache"
# Byte for byte what the exception handler writes for ThumbnailNotFound.
_NOT_FOUND_BODY = json.dumps({"detail": THUMBNAIL_NOT_FOUND}, separators=(",", ":")).encode()

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


def thumbnail_response(thumbnail: Thumbnail | None, if_none_match: str | None) -> Response:
    if thumbnail is None:
        return Response(_NOT_FOUND_BODY, status_code=404, media_type="application/json")
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


def _if_none_match(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return str(value.decode("latin-1"))
    return None


class ThumbnailEndpoint:
    """A plain ASGI endpoint (a class, so Starlette does not wrap it in a Request).

    The lookup runs on the event loop on purpose: a hit costs at most three `lstat` calls of
    a local folder (microseconds), while a hop to a worker thread costs more than the whole
    answer; only a miss reads a file, of at most 512 KiB."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Router dependencies do not reach a plain route: run the same check here.
        request = Request(scope)
        query = request.query_params
        try:
            await media_access(request, scope["app"].state.auth, query.get("exp"), query.get("sig"))
        except OfflineTubeError as exc:
            await error_response(exc)(scope, receive, send)
            return
        cache = thumbnail_cache(scope["app"])
        thumbnail = cache.probe(scope["path_params"]["task_id"])
        response = thumbnail_response(thumbnail, _if_none_match(scope))
        await response(scope, receive, send)


class ThumbnailsFirst:
    """Middleware that answers `GET/HEAD /api/thumbnails/<id>` before routing: a library page
    asks for dozens at once, and matching them through the router costs more than the answer.
    The documented route below describes the same answers in OpenAPI."""

    _PREFIX = PATH.removesuffix("{task_id}")

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._endpoint = ThumbnailEndpoint()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            task_id = scope["path"].removeprefix(self._PREFIX)
            if task_id != scope["path"] and task_id and "/" not in task_id:
                scope = {**scope, "path_params": {"task_id": task_id}}
                await self._endpoint(scope, receive, send)
                return
        await self._app(scope, receive, send)


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
def get_thumbnail(task_id: str, request: Request) -> Response:
    """The task's local thumbnail: `<id>.jpg`, else `.webp`, else `.png`."""
    thumbnail = thumbnail_cache(request.app).probe(task_id)
    if thumbnail is None:
        raise ThumbnailNotFound()
    return thumbnail_response(thumbnail, request.headers.get("if-none-match"))
