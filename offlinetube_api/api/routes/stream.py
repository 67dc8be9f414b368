import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from offlinetube_api import media
from offlinetube_api.api.deps import PlayLogDep, SettingsDep, VideoTitlesDep
from offlinetube_api.api.media_response import MediaFileResponse, content_disposition
from offlinetube_api.api.openapi import CONTENT_RANGE, VALIDATORS, binary
from offlinetube_api.config import Settings
from offlinetube_api.errors import OfflineTubeError, StoreUnavailable, VideoNotFound
from offlinetube_api.plays import PlayLog
from offlinetube_api.schemas import ErrorMessage
from offlinetube_api.video_titles import VideoTitles

router = APIRouter(prefix="/api/stream", tags=["media"])
logger = logging.getLogger(__name__)

STREAM_CHUNK_BYTES = 1024 * 1024


VIDEO_TYPES = ("video/mp4", "video/webm", "audio/mp4")
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": binary(*VIDEO_TYPES),
        "description": "The video. `Content-Disposition` names it after the task's title "
        "(`filename*=UTF-8''A%20video.mp4`), with the file's own name as `filename=`.",
        "headers": VALIDATORS,
    },
    206: {
        "content": binary(*VIDEO_TYPES),
        "description": "The requested byte range.",
        "headers": VALIDATORS | CONTENT_RANGE,
    },
    400: {"model": ErrorMessage, "description": "A `Range: bytes=...` header that does not parse."},
    404: {"model": ErrorMessage, "description": "No finished video has this name."},
    416: {
        "model": ErrorMessage,
        "description": "The range starts beyond the end of the file.",
        "headers": CONTENT_RANGE,
    },
}

DownloadQuery = Annotated[
    bool,
    Query(description="Answer `Content-Disposition: attachment`, so a browser saves the file."),
]


@router.head(
    "/{filename}",
    response_class=MediaFileResponse,
    operation_id="stream_video_head",
    responses=ANSWERS,
)
@router.get("/{filename}", response_class=MediaFileResponse, responses=ANSWERS)
async def stream_video(
    filename: str,
    settings: SettingsDep,
    titles: VideoTitlesDep,
    plays: PlayLogDep,
    download: DownloadQuery = False,
) -> MediaFileResponse:
    """A finished video, with HTTP ranges so a `<video>` tag can seek."""
    return await video_response(settings, titles, plays, filename, download=download)


async def video_response(
    settings: Settings, titles: VideoTitles, plays: PlayLog, filename: str, *, download: bool
) -> MediaFileResponse:
    """The answer of the route above; raises VideoNotFound, and StoreUnavailable when the
    title cannot be read."""
    # On the event loop, as the thumbnails' lookups: resolving and stat'ing a path in the
    # library's folder costs microseconds, a hop to a worker thread 200 to 300 us (measured on
    # this project's 2-core machine), which was most of a small range's answer.
    found = media.find_video(settings.downloads_dir, filename)
    task_id = media.video_task_id(filename)
    if found is None or task_id is None:
        raise VideoNotFound()
    try:
        await plays.note(task_id)
    except StoreUnavailable as exc:  # the video still plays; retention needs the database too
        logger.warning("could not note that video %s is playing: %s", task_id, exc)
    title = await titles.title(task_id, found.stat)
    disposition = content_disposition(
        "attachment" if download else "inline",
        fallback=found.path.name,
        name=media.download_name(title, found.path.suffix.removeprefix(".")),
    )
    response = MediaFileResponse(
        found.path,
        media_type=found.media_type,
        headers={"Content-Disposition": disposition},
        stat_result=found.stat,
    )
    response.chunk_size = STREAM_CHUNK_BYTES
    return response


async def answer_video(scope: Scope, filename: str, receive: Receive, send: Send) -> bool:
    """MediaFirst's fast answer (access already granted): the route's answer to a request whose
    query holds nothing but a signed link's; False, having sent nothing, for a video that is not
    there or any other query, which the route then answers."""
    if scope["query_string"] and not _LINK_ONLY.fullmatch(scope["query_string"]):
        return False
    state = scope["app"].state
    try:
        response = await video_response(
            state.settings, state.video_titles, state.play_log, filename, download=False
        )
    except OfflineTubeError:  # not there, or the store unavailable: the route says which
        return False
    scope["route"] = _GET_ROUTE  # the request counter's route label
    await response(scope, receive, send)
    return True


# exp=, sig= and kid= parameters (media_access reads them), nothing else.
_LINK_ONLY = re.compile(rb"(?:(?:exp|sig|kid)=[^&]*)(?:&(?:exp|sig|kid)=[^&]*)*")
_GET_ROUTE = next(
    route
    for route in router.routes
    if isinstance(route, APIRoute) and "GET" in (route.methods or ())
)
