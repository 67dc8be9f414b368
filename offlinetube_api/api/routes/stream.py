import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query

from offlinetube_api import media
from offlinetube_api.api.deps import PlayLogDep, SettingsDep, VideoTitlesDep
from offlinetube_api.api.media_response import MediaFileResponse, content_disposition
from offlinetube_api.api.openapi import CONTENT_RANGE, VALIDATORS, binary
from offlinetube_api.errors import StoreUnavailable, VideoNotFound
from offlinetube_api.schemas import ErrorMessage

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
    found = await asyncio.to_thread(media.find_video, settings.downloads_dir, filename)
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
