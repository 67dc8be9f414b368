from typing import Any

from fastapi import APIRouter, Depends, Response, status

from offlinetube_api.api.auth import PresentDep
from offlinetube_api.api.deps import DownloadsDep
from offlinetube_api.api.openapi import LOCATION, RETRY_AFTER, body_answers
from offlinetube_api.api.rate_limit import limit_downloads
from offlinetube_api.schemas import DownloadRequest, ErrorMessage, TaskPublic

router = APIRouter(prefix="/api", tags=["downloads"])

ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "model": TaskPublic,
        "description": "The same URL with the same options is already queued, running or done: "
        "that task (for a playlist, its first task) is returned and nothing new starts (send "
        "`force: true` to download again).",
        "headers": LOCATION,
    },
    202: {
        "description": "Queued. Follow the task at its `Location`. Also for a duplicate whose "
        "file was deleted: it is downloaded again under the same id.",
        "headers": LOCATION,
    },
    **body_answers(),
    429: {
        "model": ErrorMessage,
        "description": "Too many downloads started by this client in the last minute.",
        "headers": RETRY_AFTER,
    },
    503: {
        "model": ErrorMessage,
        "description": "`OFFLINETUBE_MAX_QUEUED` tasks are already waiting.",
        "headers": RETRY_AFTER,
    },
}


@router.post(
    "/download",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskPublic,
    responses=ANSWERS,
    dependencies=[Depends(limit_downloads)],
)
async def start_download(
    request: DownloadRequest, downloads: DownloadsDep, present: PresentDep, response: Response
) -> TaskPublic:
    """Queue a download of the video at `url`; follow the task at its `Location`.

    A playlist or channel URL becomes one task per video, sharing a `playlist_id`."""
    submission = await downloads.submit(request.to_order(), force=request.force)
    if not submission.queued:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/downloads/{submission.task.id}"
    return present(submission.task)
