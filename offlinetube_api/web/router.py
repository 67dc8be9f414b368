"""Every route of the web app: the pages of each screen, and the form posts under `/app`, which
all go through access.ACTION_DEPENDENCIES."""

from fastapi import APIRouter, Depends

from offlinetube_api.security.keys import Scope
from offlinetube_api.web.access import ACTION_DEPENDENCIES, needs, page_access
from offlinetube_api.web.routes import (
    add,
    library,
    player,
    queue,
    share,
    sign_in,
    subscriptions,
    system,
)

ACTIONS_PREFIX = "/app"

web_router = APIRouter(include_in_schema=False)
# Open: the way in (its sign-out checks the CSRF token itself), and the app's manifest.
web_router.include_router(sign_in.pages)
web_router.include_router(share.open_pages)
# A shared link may start a download (see share.py).
web_router.include_router(
    share.pages,
    dependencies=[Depends(page_access), Depends(needs(Scope.DOWNLOAD, "add downloads"))],
)
# Each screen's actions need the scope the API's routes for the same need.
for screen, scope, what in (
    (add, Scope.DOWNLOAD, "add downloads"),
    (queue, Scope.DOWNLOAD, "cancel or retry downloads"),
    (library, Scope.READ, "see the library"),
    (player, Scope.ADMIN, "remove videos"),
    # Deleting a subscription's videos with it needs admin (subscriptions.removal_scope).
    (subscriptions, Scope.DOWNLOAD, "change subscriptions"),
    # Its actions need an admin session even while keys are not required (system.py).
    (system, Scope.ADMIN, "manage API keys"),
):
    web_router.include_router(screen.pages, dependencies=[Depends(page_access)])
    web_router.include_router(
        screen.actions,
        prefix=ACTIONS_PREFIX,
        dependencies=[*ACTION_DEPENDENCIES, Depends(needs(scope, what))],
    )
