"""The Add screen, `/`: the form that starts a download, above the live queue."""

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from offlinetube_api.api.auth import AuthDep, PresentDep
from offlinetube_api.api.deps import DownloadsDep, StoreDep
from offlinetube_api.api.rate_limit import limit_downloads
from offlinetube_api.api.routes.event_links import all_events_url
from offlinetube_api.errors import OfflineTubeError
from offlinetube_api.ports import Downloads
from offlinetube_api.web.download_form import QUALITIES, FormRefused, download_request
from offlinetube_api.web.outcome import Outcome, answer, refusal
from offlinetube_api.web.routes.queue import queue_tasks
from offlinetube_api.web.templating import render

pages = APIRouter()
actions = APIRouter()

FormText = Annotated[str, Form()]


@pages.get("/")
async def home(
    request: Request, store: StoreDep, present: PresentDep, auth: AuthDep, url: str = ""
) -> Response:
    """`url`: put in the form (a link shared to the app, see share.py)."""
    context = {
        "qualities": QUALITIES,
        "tasks": [present(task) for task in await queue_tasks(store)],
        "events_url": await all_events_url(auth, request),
        "url": url,
    }
    return render(request, "home.html", context)


@actions.post("/downloads")
async def add(
    request: Request,
    downloads: DownloadsDep,
    url: FormText = "",
    quality: FormText = "best",
    subtitles: FormText = "",
) -> Response:
    outcome = await submit_form(request, downloads, url=url, quality=quality, subtitles=subtitles)
    return answer(request, outcome, then="/")


async def submit_form(
    request: Request, downloads: Downloads, *, url: str, quality: str, subtitles: str
) -> Outcome:
    """What `POST /api/download` does, with its refusals (a bad URL, the rate limit, a full
    queue) put in words beside the form."""
    try:
        order = download_request(url, quality, subtitles).to_order()
        await limit_downloads(request)
        submission = await downloads.submit(order)
    except FormRefused as refused:
        return Outcome(str(refused), 422)
    except (OfflineTubeError, HTTPException) as error:
        return refusal(error)
    task = submission.task
    verb = "Queued" if submission.queued else "Already in the library or the queue"
    return Outcome(f"{verb}: {task.title or task.url}")
