"""The queue: unfinished tasks, then the latest failed and cancelled ones (to retry), kept live
in the page by static/queue.js from `/api/events`; a fresh link to that stream for a page open
longer than a signed link lasts; Cancel and Retry posts."""

from collections.abc import Awaitable

from fastapi import APIRouter, Request
from starlette.responses import Response

from offlinetube_api.api.auth import AuthDep
from offlinetube_api.api.deps import DownloadsDep
from offlinetube_api.api.routes.event_links import all_events_url
from offlinetube_api.errors import OfflineTubeError
from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.schemas import EventsLink
from offlinetube_api.web.outcome import Outcome, answer, refusal

pages = APIRouter()
actions = APIRouter()

UNFINISHED = (TaskStatus.QUEUED, TaskStatus.DOWNLOADING, TaskStatus.PROCESSING)
ENDED_SHOWN = 10  # of each of failed and cancelled: the newest, for Retry


async def queue_tasks(store: TaskStore) -> list[Task]:
    """Unfinished tasks oldest first (the order they run in), then the newest failed and
    cancelled ones."""
    tasks = await store.with_status(UNFINISHED)
    for status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        tasks += (await store.page(status=status, limit=ENDED_SHOWN)).tasks
    return tasks


@pages.get("/queue/events-link")
async def events_link(request: Request, auth: AuthDep) -> EventsLink:
    """What `GET /api/events/link` answers, for a page signed in with a session rather than a
    key: queue.js asks when the stream refuses its link (a signed link expires)."""
    return EventsLink(url=await all_events_url(auth, request))


@actions.post("/downloads/{task_id}/cancel")
async def cancel(request: Request, task_id: str, downloads: DownloadsDep) -> Response:
    return await _control(request, downloads.cancel(task_id), done="Cancelled")


@actions.post("/downloads/{task_id}/retry")
async def retry(request: Request, task_id: str, downloads: DownloadsDep) -> Response:
    return await _control(request, downloads.retry(task_id), done="Queued again")


async def _control(request: Request, change: Awaitable[Task], *, done: str) -> Response:
    """The outcome of `change` in words: `done` and the title, or why it was refused."""
    try:
        task = await change
    except OfflineTubeError as error:
        return answer(request, refusal(error), then="/")
    return answer(request, Outcome(f"{done}: {task.title or task.url}"), then="/")
