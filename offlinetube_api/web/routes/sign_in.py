"""Sign-in and sign-out: `/sign-in` takes an API key and starts a session (a signed, HttpOnly,
SameSite=Strict cookie, see session_cookie.py); `POST /sign-out` ends it. Open routes: they
are the way in."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from offlinetube_api.api.auth import AuthDep
from offlinetube_api.web.access import csrf_check
from offlinetube_api.web.session_cookie import WebSessionsDep
from offlinetube_api.web.templating import render

pages = APIRouter()

BAD_KEY = "This key is not valid, or it has been revoked."


def local_path(target: str) -> str:
    """`target` when it is a path of this service, else `/`: `next` must not send a person
    signing in to another site (`//evil.test`, `https://...`, `/\\evil.test`)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@pages.get("/sign-in")
async def sign_in_page(request: Request, auth: AuthDep, next: str = "/") -> Response:
    context = {"next": local_path(next), "required": await auth.required()}
    return render(request, "sign_in.html", context)


@pages.post("/sign-in")
async def sign_in(
    request: Request,
    auth: AuthDep,
    sessions: WebSessionsDep,
    key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """A valid, active key starts a session and goes on to `next`; another one answers 401
    with the form again, saying so."""
    found = await sessions.verify(key.strip())
    if found is None:
        context = {"next": local_path(next), "required": await auth.required(), "error": BAD_KEY}
        return render(request, "sign_in.html", context, status_code=401)
    response = RedirectResponse(local_path(next), status_code=303)
    sessions.start(response, request, found)
    return response


@pages.post("/sign-out", dependencies=[Depends(csrf_check)])
async def sign_out(request: Request, sessions: WebSessionsDep) -> Response:
    response = RedirectResponse("/sign-in", status_code=303)
    sessions.end(response, request)
    return response
