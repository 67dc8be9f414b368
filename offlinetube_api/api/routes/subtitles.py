from fastapi import APIRouter
from fastapi.responses import FileResponse

from offlinetube_api import media
from offlinetube_api.api.deps import SettingsDep
from offlinetube_api.errors import MediaNotFound
from offlinetube_api.schemas import ErrorMessage

router = APIRouter(prefix="/api/subtitles", tags=["media"])


@router.get(
    "/{filename}",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/vtt": {}}, "description": "WebVTT, for a `<track>` element."},
        404: {"model": ErrorMessage, "description": "No subtitle file has this name."},
    },
)
def get_subtitles(filename: str, settings: SettingsDep) -> FileResponse:
    """A subtitle file saved with a video, named `video__<task_id>.<lang>.vtt`."""
    found = media.find_subtitles(settings.downloads_dir, filename)
    if found is None:
        raise MediaNotFound("Subtitles not found")
    return FileResponse(found.path, media_type=found.media_type, stat_result=found.stat)
