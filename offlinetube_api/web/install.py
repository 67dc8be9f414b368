"""Adds the web app to the service: its pages and form posts (routes/), its static files
(`/static`, the vendored ones under `/static/vendor` cached for a year, their version being in
their path) and the answer of a page that needs a sign-in. Pages are outside `/api` and outside
the OpenAPI schema; they call the same service objects as the API's routes."""

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from offlinetube_api.api.docs_pages import ImmutableStaticFiles
from offlinetube_api.errors import invalid_request
from offlinetube_api.web.access import PageRefused, SignInRequired, is_htmx
from offlinetube_api.web.outcome import Outcome, answer
from offlinetube_api.web.router import web_router
from offlinetube_api.web.templating import STATIC_URL, VENDOR_URL

PACKAGE = "offlinetube_api.web"


async def sign_in_required(request: Request, _: Exception) -> Response:
    """To the sign-in form, which comes back to this page after (a post, to `/`). htmx gets a
    401 whose `HX-Redirect` sends the whole page there."""
    back = request.url.path if request.method == "GET" else "/"
    if request.method == "GET" and request.url.query:
        back = f"{back}?{request.url.query}"
    target = f"/sign-in?{urlencode({'next': back})}"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def page_refused(request: Request, refused: Exception) -> Response:
    return answer(request, Outcome(str(refused), 403), then="/")


async def page_asked_wrongly(request: Request, exc: Exception) -> Response:
    """A page's address with a query it does not take (`/library?status=bogus`, an edited
    link): a page that says what was wrong, with a link home. The API's routes (under
    `/api/`), which the same handler sees, keep their JSON 422."""
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith("/api/"):
        return await invalid_request(request, exc)
    # Once each: a parameter two dependencies of the page read is reported by both.
    problems = "; ".join(
        dict.fromkeys(
            f"{error['loc'][-1]}: {error['msg']}" if error.get("loc") else str(error["msg"])
            for error in exc.errors()
        )
    )
    outcome = Outcome(f"This address asks for what the page does not know ({problems}).", 422)
    return answer(request, outcome, then="/")


def install_web_app(app: FastAPI) -> None:
    app.include_router(web_router)
    app.add_exception_handler(RequestValidationError, page_asked_wrongly)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(PageRefused, page_refused)
    # The longer prefix first: a mount answers every path under it.
    app.mount(
        VENDOR_URL,
        ImmutableStaticFiles(packages=[(PACKAGE, "static/vendor")]),
        name="web_vendor",
    )
    app.mount(STATIC_URL, StaticFiles(packages=[(PACKAGE, "static")]), name="web_static")
