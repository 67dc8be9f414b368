"""How a form post answers: htmx gets a fragment with the outcome in words (an error with its
own status, so scripts and tests can tell), a plain form post a redirect (303) or a page."""

from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.responses import RedirectResponse, Response

from offlinetube_api.errors import OfflineTubeError
from offlinetube_api.web.access import is_htmx
from offlinetube_api.web.templating import render


@dataclass(frozen=True, slots=True)
class Outcome:
    message: str
    status_code: int = 200

    @property
    def failed(self) -> bool:
        return self.status_code >= 400


def refusal(error: OfflineTubeError | HTTPException) -> Outcome:
    """What the API would have answered, as words and a status (a 409, a 429, a 503...)."""
    return Outcome(str(error.detail), error.status_code)


def answer(request: Request, outcome: Outcome, *, then: str) -> Response:
    """htmx: the `outcome.html` fragment. A plain post: to `then` when it worked, else a page
    with the message and a link back to `then`."""
    if is_htmx(request):
        return render(
            request, "outcome.html", {"outcome": outcome}, status_code=outcome.status_code
        )
    if not outcome.failed:
        return RedirectResponse(then, status_code=303)
    context = {"outcome": outcome, "back": then}
    return render(request, "outcome_page.html", context, status_code=outcome.status_code)
