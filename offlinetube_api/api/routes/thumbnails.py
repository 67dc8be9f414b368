from fastapi import APIRouter
from fastapi.responses import FileResponse

from offlinetube_api import media
from offlinetube_api.api.deps import SettingsDep
from offlinetube_api.errors import ThumbnailNotFound
from offlinetube_api.models import ErrorMessage

router = APIRouter(prefix="/api/thumbnails", tags=["media"])


@router.head("/{task_id}", response_class=FileResponse, operation_id="get_thumbnail_head")
@router.get(
    "/{task_id}",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"image/jpeg": {}, "image/webp": {}, "image/png": {}},
            "description": "The thumbnail.",
        },
        404: {
            "model": ErrorMessage,
            "description": "No local thumbnail.",
            "content": {"application/json": {"example": {"detail": "Miniatura no encontrada"}}},
        },
    },
)
def get_thumbnail(task_id: str, settings: SettingsDep) -> FileResponse:
    """The task's local thumbnail: `<id>.jpg`, else `.webp`, else `.png`."""
    found = media.find_thumbnail(settings.thumbnails_dir, task_id)
    if found is None:
        raise ThumbnailNotFound()
    return FileResponse(found.path, media_type=found.media_type, stat_result=found.stat)
