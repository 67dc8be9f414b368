"""Who may open the web app's pages and send its forms: the one place that decides it.

While keys are not needed the pages are open. While they are, a page needs a session (a
sign-in with a key, see routes/sign_in.py) whose key is still active and whose scope allows
it: `read` for every page, more for what changes something (`needs`). A request without a
session is sent to `/sign-in`; one whose scope is too small is refused in words (403).
Every state-changing form post also carries the session's CSRF token (`csrf_check`)."""

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam

from offlinetube_api.api.auth import AuthDep, AuthPolicy
from offlinetube_api.security.keys import Scope
from offlinetube_api.web.session_cookie import WebSessionsDep

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):
    """Keys are required and the request carries no session of an active key."""


class PageRefused(Exception):
    """A request the session may not make, in words for a person (answered 403 by
    install.py, as a page or an htmx fragment)."""


CSRF_REFUSED = (
    "This form did not come from a page of your session (its security token is missing or "
    "stale): reload the page and try again."
)


async def page_access(request: Request, auth: AuthDep, sessions: WebSessionsDep) -> None:
    """A dependency of every page, fragment and form post of the app. Raises SignInRequired
    while keys are required and there is no session; PageRefused for a session whose scope
    reads no library (`metrics`)."""
    session = await sessions.current(request)
    if not await auth.required():
        return
    if session is None:
        raise SignInRequired(request.url.path)
    _check_scope(session.scope, Scope.READ, "see the library")


def needs(scope: Scope, what: str) -> Callable[[Request, AuthDep], Awaitable[None]]:
    """A dependency, after `page_access`: a session's key must allow `scope` to `what` (words
    for the refusal: "add downloads")."""

    async def check(request: Request, auth: AuthDep) -> None:
        session = getattr(request.state, "web_session", None)
        if session is not None and await auth.required():
            _check_scope(session.scope, scope, what)

    return check


async def allowed(request: Request, auth: AuthPolicy, scope: Scope) -> bool:
    """Whether the request, past `page_access`, may do what needs `scope`: a page shows the
    buttons of what it may do only."""
    if not await auth.required():
        return True
    session = getattr(request.state, "web_session", None)
    return session is not None and session.scope.allows(scope)


def _check_scope(held: Scope, needed: Scope, what: str) -> None:
    if not held.allows(needed):
        raise PageRefused(
            f"You are signed in with a key of the {held} scope; to {what} you need one of "
            f"the {needed} scope. "
            "Sign out and sign in with another key."
        )


async def csrf_check(request: Request, sessions: WebSessionsDep) -> None:
    """With a session, a state-changing request must carry its CSRF token: htmx sends it in
    the `X-CSRF-Token` header (base.html's `hx-headers`), a plain form in `csrf_token`.
    Without a session (keys not needed) there is nothing of the person's to forge;
    SameOriginWrites still refuses other origins' posts."""
    session = await sessions.current(request)
    if session is None:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        token = _text((await request.form()).get(CSRF_FIELD))
    if not session.accepts(token):
        raise PageRefused(CSRF_REFUSED)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


# Every route under /app (add, cancel, retry, remove) has these dependencies, in this order.
ACTION_DEPENDENCIES: list[DependsParam] = [Depends(page_access), Depends(csrf_check)]


def is_htmx(request: Request) -> bool:
    """htmx sends `HX-Request: true` and wants a fragment; a plain form post, a whole page."""
    return request.headers.get("hx-request") == "true"
