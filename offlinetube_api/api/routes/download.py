from typing import Any

from fastapi import APIRouter, Response, status

from offlinetube_api.api.deps import DownloadsDep
from offlinetube_api.models import DownloadRequest, TaskPublic

router = APIRouter(prefix="/api", tags=["downloads"])

_LOCATION = {
    "Location": {"description": "`/api/downloads/<task_id>`", "schema": {"type": "string"}}
}
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "model": TaskPublic,
        "description": "The same URL with the same options is already queued, running or done: "
        "that task is returned and nothing new starts (send `force: true` to download again).",
        "headers": _LOCATION,
    },
    202: {"description": "Queued. Follow the task at its `Location`.", "headers": _LOCATION},
}


@router.post(
    "/download",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskPublic,
    responses=ANSWERS,
)
async def start_download(
    request: DownloadRequest, downloads: DownloadsDep, response: Response
) -> TaskPublic:
    """Queue a download of the video at `url`; follow the task at its `Location`.

    A playlist or channel URL becomes one task per video, sharing a `playlist_id`."""
    submission = await downloads.submit(request.to_order(), force=request.force)
    if not submission.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/downloads/{submission.task.id}"
    return TaskPublic.from_task(submission.task)
