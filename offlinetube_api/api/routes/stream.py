from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from offlinetube_api import media
from offlinetube_api.api.deps import SettingsDep
from offlinetube_api.errors import VideoNotFound
from offlinetube_api.schemas import ErrorMessage

router = APIRouter(prefix="/api/stream", tags=["media"])

STREAM_CHUNK_BYTES = 1024 * 1024


ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"video/mp4": {}, "video/webm": {}, "audio/mp4": {}},
        "description": "The video.",
    },
    206: {"description": "The requested byte range."},
    404: {"model": ErrorMessage, "description": "No finished video has this name."},
    416: {"description": "The range lies outside the file."},
}


@router.head(
    "/{filename}",
    response_class=FileResponse,
    operation_id="stream_video_head",
    responses=ANSWERS,
)
@router.get("/{filename}", response_class=FileResponse, responses=ANSWERS)
def stream_video(filename: str, settings: SettingsDep) -> FileResponse:
    """A finished video, with HTTP ranges so a `<video>` tag can seek."""
    found = media.find_video(settings.downloads_dir, filename)
    if found is None:
        raise VideoNotFound()
    response = FileResponse(
        found.path,
        media_type=found.media_type,
        filename=found.path.name,
        content_disposition_type="inline",
        stat_result=found.stat,
    )
    response.chunk_size = STREAM_CHUNK_BYTES
    return response
