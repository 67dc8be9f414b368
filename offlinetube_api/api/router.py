from typing import Any

from fastapi import APIRouter, Depends

from offlinetube_api.api.auth import media_access, require
from offlinetube_api.api.routes import (
    download,
    downloads,
    event_links,
    events,
    health,
    playlists,
    stream,
    subtitles,
    thumbnails,
)
from offlinetube_api.schemas import ErrorMessage
from offlinetube_api.security.keys import Scope

KEY_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "Keys are required and none valid was sent."},
    403: {"model": ErrorMessage, "description": "The key's scope is too small."},
}
MEDIA_ANSWERS: dict[int | str, dict[str, Any]] = {
    **KEY_ANSWERS,
    403: {"model": ErrorMessage, "description": "Scope too small, or a bad or expired link."},
}

api_router = APIRouter()
# These set a scope per route (reading, cancelling and removing differ).
api_router.include_router(downloads.router, responses=KEY_ANSWERS)
api_router.include_router(playlists.router, responses=KEY_ANSWERS)
for module, scope in (
    (download, Scope.DOWNLOAD),
    (event_links, Scope.READ),
):
    api_router.include_router(
        module.router, dependencies=[Depends(require(scope))], responses=KEY_ANSWERS
    )
# A key, or a signed link: `<img>`, `<video>` and `EventSource` cannot send a header.
for media_router in (stream.router, subtitles.router, thumbnails.router, events.router):
    api_router.include_router(
        media_router, dependencies=[Depends(media_access)], responses=MEDIA_ANSWERS
    )
# Open, so that container health checks need no key; it shows no library content.
api_router.include_router(health.router)
