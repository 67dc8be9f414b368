from typing import Any

from fastapi import APIRouter, Depends

from offlinetube_api.api.auth import KEY_SCHEMES, media_access, require
from offlinetube_api.api.routes import (
    cookies,
    download,
    downloads,
    event_links,
    events,
    health,
    info,
    metrics,
    playlists,
    probes,
    stream,
    subscriptions,
    subtitles,
    thumbnails,
    ytdlp,
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
api_router.include_router(downloads.router, dependencies=KEY_SCHEMES, responses=KEY_ANSWERS)
api_router.include_router(playlists.router, dependencies=KEY_SCHEMES, responses=KEY_ANSWERS)
api_router.include_router(subscriptions.router, dependencies=KEY_SCHEMES, responses=KEY_ANSWERS)
for module, scope in (
    (download, Scope.DOWNLOAD),
    (info, Scope.DOWNLOAD),  # it makes the service fetch a URL, as a download does
    (event_links, Scope.READ),
    (cookies, Scope.ADMIN),  # a signed-in session on a site: admins only, even to list
    (ytdlp, Scope.ADMIN),  # installs software
):
    api_router.include_router(
        module.router, dependencies=[*KEY_SCHEMES, Depends(require(scope))], responses=KEY_ANSWERS
    )
# A key, or a signed link: `<img>`, `<video>` and `EventSource` cannot send a header.
for media_router in (stream.router, subtitles.router, thumbnails.router, events.router):
    api_router.include_router(
        media_router, dependencies=[*KEY_SCHEMES, Depends(media_access)], responses=MEDIA_ANSWERS
    )
# Open, so that container health checks need no key; they show no library content.
api_router.include_router(health.router)
api_router.include_router(probes.router)
# Its own scope, so a Prometheus server's key reads no library; admin keys read it too.
api_router.include_router(
    metrics.router,
    dependencies=[*KEY_SCHEMES, Depends(require(Scope.METRICS))],
    responses=KEY_ANSWERS,
)
