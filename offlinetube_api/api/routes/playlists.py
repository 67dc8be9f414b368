from typing import Any

from fastapi import APIRouter, Depends

from offlinetube_api.api.auth import PresentDep, require
from offlinetube_api.api.deps import DownloadsDep, StoreDep, ids_name_tasks
from offlinetube_api.errors import PlaylistNotFound
from offlinetube_api.schemas import ErrorMessage, PlaylistCancelResult, TaskPublic
from offlinetube_api.security.keys import Scope

router = APIRouter(prefix="/api/playlists", tags=["downloads"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "No task has this playlist id."}
}


@router.get(
    "/{playlist_id}",
    response_model=list[TaskPublic],
    responses=NOT_FOUND,
    dependencies=[Depends(require(Scope.READ)), Depends(ids_name_tasks)],
)
async def list_playlist(playlist_id: str, store: StoreDep, present: PresentDep) -> list[TaskPublic]:
    """The tasks of one playlist, in playlist order."""
    tasks = await store.in_playlist(playlist_id)
    if not tasks:
        raise PlaylistNotFound(playlist_id)
    return [present(task) for task in tasks]


@router.post(
    "/{playlist_id}/cancel",
    response_model=PlaylistCancelResult,
    responses=NOT_FOUND,
    dependencies=[Depends(require(Scope.DOWNLOAD)), Depends(ids_name_tasks)],
)
async def cancel_playlist(playlist_id: str, downloads: DownloadsDep) -> PlaylistCancelResult:
    """Cancel every task of a playlist that is still queued or running."""
    cancelled = await downloads.cancel_playlist(playlist_id)
    return PlaylistCancelResult(playlist_id=playlist_id, cancelled=cancelled)
