import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from offlinetube_api import media
from offlinetube_api.api.deps import SettingsDep, VideoTitlesDep
from offlinetube_api.api.media_response import MediaFileResponse, content_disposition
from offlinetube_api.errors import VideoNotFound
from offlinetube_api.schemas import ErrorMessage

router = APIRouter(prefix="/api/stream", tags=["media"])

STREAM_CHUNK_BYTES = 1024 * 1024


ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"video/mp4": {}, "video/webm": {}, "audio/mp4": {}},
        "description": "The video. `Content-Disposition` names it after the task's title "
        "(`filename*=UTF-8''A%20video.mp4`), with the file's own name as `filename=`.",
    },
    206: {"description": "The requested byte range."},
    400: {"model": ErrorMessage, "description": "A `Range: bytes=...` header that does not parse."},
    404: {"model": ErrorMessage, "description": "No finished video has this name."},
    416: {
        "model": ErrorMessage,
        "description": "The range starts beyond the end of the file; "
        "`Content-Range: bytes */<size>` says how long it is.",
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
    filename: str, settings: SettingsDep, titles: VideoTitlesDep, download: DownloadQuery = False
) -> MediaFileResponse:
    """A finished video, with HTTP ranges so a `<video>` tag can seek."""
    found = await asyncio.to_thread(media.find_video, settings.downloads_dir, filename)
    task_id = media.video_task_id(filename)
    if found is None or task_id is None:
        raise VideoNotFound()
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
