"""GET/HEAD /api/thumbnails/{task_id}: served from memory with an ETag, answering 304 to
`If-None-Match`; the common request by MediaFirst (api/media_first.py), ahead of the
middleware stack and the router, so the library page's burst of `<img>` requests skips
FastAPI's per-request machinery (see bench/RESULTS.md for the figures)."""

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from offlinetube_api.api.media_response import MediaFileResponse
from offlinetube_api.api.openapi import CONTENT_RANGE, VALIDATORS, binary
from offlinetube_api.errors import THUMBNAIL_NOT_FOUND, ThumbnailNotFound
from offlinetube_api.schemas import ErrorMessage
from offlinetube_api.thumbnail_cache import Thumbnail, ThumbnailCache

PATH = "/api/thumbnails/{task_id}"
# Browsers revalidate on every use, so a removed or replaced thumbnail shows at once; the
# revalidation is a 304 without a body.
CACHE_CONTROL = "public, no-cache"

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


async def answer_thumbnail(scope: Scope, task_id: str, receive: Receive, send: Send) -> bool:
    """MediaFirst's fast answer (access already granted): a thumbnail held in memory, 200 or
    304; False, having sent nothing, for anything else (a 404, or a large file served from disk
    with ranges), which the route below then answers.

    The lookup runs on the event loop on purpose: a hit costs at most three `lstat` calls of a
    local folder (microseconds), while a hop to a worker thread costs more than the answer."""
    thumbnail = thumbnail_cache(scope["app"]).probe(task_id)
    if thumbnail is None or thumbnail.body is None:
        return False
    scope["route"] = _GET_ROUTE  # the request counter's route label
    # Latin-1, as Starlette reads headers for the route: any bytes decode, none into spaces.
    if_none_match = next(
        (value.decode("latin-1") for name, value in scope["headers"] if name == b"if-none-match"),
        None,
    )
    await thumbnail_response(thumbnail, if_none_match)(scope, receive, send)
    return True


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
