from fastapi import APIRouter

from offlinetube_api import media
from offlinetube_api.api.deps import SettingsDep
from offlinetube_api.api.media_response import MediaFileResponse
from offlinetube_api.api.openapi import CONTENT_RANGE, VALIDATORS, binary
from offlinetube_api.errors import MediaNotFound
from offlinetube_api.schemas import ErrorMessage

router = APIRouter(prefix="/api/subtitles", tags=["media"])


@router.get(
    "/{filename}",
    response_class=MediaFileResponse,
    responses={
        200: {
            "content": binary("text/vtt"),
            "description": "WebVTT, for a `<track>` element.",
            "headers": VALIDATORS,
        },
        206: {
            "content": binary("text/vtt"),
            "description": "The requested byte range.",
            "headers": VALIDATORS | CONTENT_RANGE,
        },
        400: {"model": ErrorMessage, "description": "A `Range` header that does not parse."},
        404: {"model": ErrorMessage, "description": "No subtitle file has this name."},
        416: {
            "model": ErrorMessage,
            "description": "The range starts beyond the end.",
            "headers": CONTENT_RANGE,
        },
    },
)
def get_subtitles(filename: str, settings: SettingsDep) -> MediaFileResponse:
    """A subtitle file saved with a video, named `video__<task_id>.<lang>.vtt`."""
    found = media.find_subtitles(settings.downloads_dir, filename)
    if found is None:
        raise MediaNotFound("Subtitles not found")
    return MediaFileResponse(found.path, media_type=found.media_type, stat_result=found.stat)
