from http import HTTPStatus
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from offlinetube_api.api.auth import PresentDep, require
from offlinetube_api.api.deps import DownloadsDep, StoreDep, TaskDep, ids_name_tasks
from offlinetube_api.api.listing_cursor import Cursor, next_link, refuse_offset_with_cursor
from offlinetube_api.api.openapi import NEXT_LINK, TOTAL_COUNT
from offlinetube_api.api.title_query import TitleQuery
from offlinetube_api.models import TaskStatus
from offlinetube_api.schemas import ErrorMessage, RemovalResult, TaskPublic
from offlinetube_api.security.keys import Scope
from offlinetube_api.title_words import words

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


@router.get(
    "",
    response_model=list[TaskPublic],
    responses={200: {"description": "One page of tasks.", "headers": TOTAL_COUNT | NEXT_LINK}},
    dependencies=READ,
)
async def list_downloads(
    store: StoreDep,
    present: PresentDep,
    request: Request,
    response: Response,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=SQLITE_MAX_INTEGER)] = 0,
    before: Annotated[
        Cursor | None, Query(description='The cursor of a `Link: rel="next"` header.')
    ] = None,
    q: Annotated[
        TitleQuery | None,
        Query(
            description="Words that must each be a word of the title, in any case and with "
            'or without accents: `cancion` finds "Canción".',
        ),
    ] = None,
    order: Annotated[
        Literal["newest", "oldest"],
        Query(description="`oldest`: oldest first; the `next` links keep the order."),
    ] = "newest",
    subscription_id: Annotated[
        UUID | None, Query(description="Only the tasks this subscription's checks queued.")
    ] = None,
) -> list[TaskPublic]:
    """The library, newest first (`order=oldest`: oldest first), or the tasks whose title has
    the words of `q`, or those of a subscription (`subscription_id`);
    `X-Total-Count` says how many match in all, and a `Link` header with `rel="next"` gives
    the next page's URL while more follow: a page asked by its cursor (`before`) costs the
    same at any depth, unlike `offset`, and skips or repeats no task when new ones arrive
    meanwhile."""
    refuse_offset_with_cursor(offset, before)
    page = await store.page(
        status=status,
        limit=limit,
        offset=offset,
        before=before,
        words=words(q or ""),
        oldest_first=order == "oldest",
        subscription_id=str(subscription_id) if subscription_id else None,
    )
    response.headers["X-Total-Count"] = str(page.total)
    if page.following is not None:
        response.headers["Link"] = next_link(request.url, page.following)
    return [present(task) for task in page.tasks]


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
