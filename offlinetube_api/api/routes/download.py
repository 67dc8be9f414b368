from typing import Any

from fastapi import APIRouter, Response, status

from offlinetube_api.api.deps import DownloadsDep
from offlinetube_api.models import DownloadRequest, TaskPublic

router = APIRouter(prefix="/api", tags=["downloads"])

ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Queued. Follow the task at its `Location`.",
        "headers": {
            "Location": {"description": "`/api/downloads/<task_id>`", "schema": {"type": "string"}}
        },
    },
}


@router.post(
    "/download",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskPublic,
    responses=ACCEPTED,
)
async def start_download(
    request: DownloadRequest, downloads: DownloadsDep, response: Response
) -> TaskPublic:
    """Queue a download of the video at `url`; poll the task at its `Location`."""
    task = await downloads.submit(url=request.url, format=request.format)
    response.headers["Location"] = f"/api/downloads/{task.id}"
    return TaskPublic.from_task(task)
