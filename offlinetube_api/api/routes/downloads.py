from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from offlinetube_api.api.auth import PresentDep, require
from offlinetube_api.api.deps import DownloadsDep, StoreDep, TaskDep, ids_name_tasks
from offlinetube_api.models import TaskStatus
from offlinetube_api.schemas import ErrorMessage, RemovalResult, TaskPublic
from offlinetube_api.security.keys import Scope

router = APIRouter(prefix="/api/downloads", tags=["downloads"])

# The key first, then the id: a client without a key learns nothing, not even a 404.
READ = [Depends(require(Scope.READ)), Depends(ids_name_tasks)]
CONTROL = [Depends(require(Scope.DOWNLOAD)), Depends(ids_name_tasks)]
ADMIN = [Depends(require(Scope.ADMIN)), Depends(ids_name_tasks)]
SQLITE_MAX_INTEGER = 2**63 - 1  # a larger offset is a 500 from sqlite3, not an empty page

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "No task has this id."}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"model": ErrorMessage, "description": "The task is not in a state that allows this."},
}


@router.get("", response_model=list[TaskPublic], dependencies=READ)
async def list_downloads(
    store: StoreDep,
    present: PresentDep,
    response: Response,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=SQLITE_MAX_INTEGER)] = 0,
) -> list[TaskPublic]:
    """The library, newest first; `X-Total-Count` says how many match in all."""
    tasks, total = await store.page(status=status, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [present(task) for task in tasks]


@router.get("/{task_id}", response_model=TaskPublic, responses=NOT_FOUND, dependencies=READ)
async def get_download(task: TaskDep, present: PresentDep) -> TaskPublic:
    """One task, with its live progress."""
    return present(task)


@router.delete(
    "/{download_id}/remove", response_model=RemovalResult, responses=NOT_FOUND, dependencies=ADMIN
)
async def remove_download(download_id: str, downloads: DownloadsDep) -> RemovalResult:
    """Cancel the task if it runs, then delete its video, partial files, thumbnails and record."""
    await downloads.remove(download_id)
    return RemovalResult(id=download_id)


@router.post(
    "/{task_id}/cancel", response_model=TaskPublic, responses=CONFLICT, dependencies=CONTROL
)
async def cancel_download(task_id: str, downloads: DownloadsDep, present: PresentDep) -> TaskPublic:
    """Stop a queued or running task; its partial files are deleted and it ends `cancelled`.
    A task that already finished answers 409."""
    return present(await downloads.cancel(task_id))


@router.post(
    "/{task_id}/retry",
    status_code=HTTPStatus.ACCEPTED,
    response_model=TaskPublic,
    responses=CONFLICT,
    dependencies=CONTROL,
)
async def retry_download(task_id: str, downloads: DownloadsDep, present: PresentDep) -> TaskPublic:
    """Put a `failed` or `cancelled` task back in the queue under the same id; else 409."""
    return present(await downloads.retry(task_id))
