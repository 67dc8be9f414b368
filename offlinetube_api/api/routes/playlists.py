from fastapi import APIRouter

from offlinetube_api.api.deps import DownloadsDep
from offlinetube_api.schemas import ErrorMessage, PlaylistCancelResult

router = APIRouter(prefix="/api/playlists", tags=["downloads"])


@router.post(
    "/{playlist_id}/cancel",
    response_model=PlaylistCancelResult,
    responses={404: {"model": ErrorMessage, "description": "No task has this playlist id."}},
)
async def cancel_playlist(playlist_id: str, downloads: DownloadsDep) -> PlaylistCancelResult:
    """Cancel every task of a playlist that is still queued or running."""
    cancelled = await downloads.cancel_playlist(playlist_id)
    return PlaylistCancelResult(playlist_id=playlist_id, cancelled=cancelled)
