"""The Player screen, `/videos/{task_id}`: the video with its poster and subtitles, its facts,
"Save file", the other videos of its playlist in order, and Remove (a two-step form)."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from offlinetube_api import media
from offlinetube_api.api.auth import PresentDep
from offlinetube_api.api.deps import DownloadsDep, StoreDep
from offlinetube_api.errors import OfflineTubeError
from offlinetube_api.web.access import is_htmx
from offlinetube_api.web.outcome import Outcome, answer, refusal
from offlinetube_api.web.templating import render

pages = APIRouter()
actions = APIRouter()

AFTER_REMOVAL = "/library"


def attachment_url(stream_url: str) -> str:
    """The stream's URL (perhaps signed) asking for `Content-Disposition: attachment`."""
    return f"{stream_url}{'&' if '?' in stream_url else '?'}download=true"


@pages.get("/videos/{task_id}")
async def player(request: Request, task_id: str, store: StoreDep, present: PresentDep) -> Response:
    task = await store.get(task_id) if media.is_task_id(task_id) else None
    if task is None:
        return render(request, "not_found.html", status_code=404)
    playlist = await store.in_playlist(task.playlist_id) if task.playlist_id else []
    shown = present(task)
    context = {
        "task": shown,
        "save_url": attachment_url(shown.stream_url) if shown.stream_url else None,
        "playlist": [present(item) for item in playlist],
    }
    return render(request, "player.html", context)


@actions.post("/downloads/{task_id}/remove")
async def remove(request: Request, task_id: str, downloads: DownloadsDep) -> Response:
    """What `DELETE /api/downloads/{id}/remove` does; then to the library."""
    try:
        await downloads.remove(task_id)
    except OfflineTubeError as error:
        return answer(request, refusal(error), then=AFTER_REMOVAL)
    response = answer(request, Outcome("Removed."), then=AFTER_REMOVAL)
    if is_htmx(request):
        response.headers["HX-Redirect"] = AFTER_REMOVAL
    return response
