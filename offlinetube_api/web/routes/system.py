"""The System screen, `/system`: the service's health (what GET /api/health answers) and, for a
session of an admin key, the API keys: list, create (the key shown once) and revoke, with the
key store the `offlinetube-api keys` command uses."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from offlinetube_api.api.auth import AuthDep
from offlinetube_api.api.deps import DownloadsDep, KeysDep, ProgramsDep, SettingsDep, StoreDep
from offlinetube_api.api.routes.health import health_report
from offlinetube_api.security.keys import KeyNotActive, LastAdminKey, Scope
from offlinetube_api.web.access import PageRefused
from offlinetube_api.web.outcome import Outcome, answer
from offlinetube_api.web.session_cookie import WebSessionsDep
from offlinetube_api.web.templating import render

pages = APIRouter()
actions = APIRouter()

MAX_NAME = 100
SCOPES = [scope.value for scope in Scope]
LAST_ADMIN = (
    "Not revoked: {key_id} is the last active admin key, and without one no one could manage "
    "keys or remove downloads. Create another admin key first (or revoke it with "
    "`offlinetube-api keys revoke {key_id} --force`)."
)


async def admin_session(request: Request, sessions: WebSessionsDep) -> None:
    """Keys are managed in a session of an admin key only, even while keys are not needed."""
    session = await sessions.current(request)
    if session is None or session.scope is not Scope.ADMIN:
        raise PageRefused("Managing API keys needs a sign-in with an admin key.")


@pages.get("/system")
async def system(
    request: Request,
    settings: SettingsDep,
    downloads: DownloadsDep,
    programs: ProgramsDep,
    store: StoreDep,
    auth: AuthDep,
    keys: KeysDep,
    sessions: WebSessionsDep,
) -> Response:
    session = await sessions.current(request)
    admin = session is not None and session.scope is Scope.ADMIN
    context = {
        "health": await health_report(settings, downloads, programs, store),
        "keys_required": await auth.required(),
        "keys": await keys.all() if admin else None,
        "scopes": SCOPES,
    }
    return render(request, "system.html", context)


@actions.post("/keys", dependencies=[Depends(admin_session)])
async def create_key(
    request: Request,
    keys: KeysDep,
    name: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "",
) -> Response:
    """The new key's text in a page of its own, never cached: it is not shown again."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or scope not in SCOPES:
        refused = f"Give the key a name (1 to {MAX_NAME} characters) and one of the scopes."
        return answer(request, Outcome(refused, 422), then="/system")
    key, text = await keys.create(name=name, scope=Scope(scope))
    response = render(request, "key_made.html", {"key": key, "text": text}, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@actions.post("/keys/{key_id}/revoke", dependencies=[Depends(admin_session)])
async def revoke_key(request: Request, key_id: str, keys: KeysDep) -> Response:
    try:
        await keys.revoke_checked(key_id)
    except LastAdminKey:
        return answer(request, Outcome(LAST_ADMIN.format(key_id=key_id), 409), then="/system")
    except KeyNotActive:
        refused = f"No active key has the id {key_id!r}."
        return answer(request, Outcome(refused, 404), then="/system")
    return answer(request, Outcome(f"Revoked {key_id}."), then="/system")
