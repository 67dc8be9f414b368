"""Cookie sets: an admin uploads a site's cookies.txt; downloads of its domains send them.
No answer ever holds a cookie's value (see cookie_sets.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from offlinetube_api.api.deps import CookieSetsDep
from offlinetube_api.api.openapi import unprocessable
from offlinetube_api.cookie_files import NAME_HELP, NAME_PATTERN
from offlinetube_api.cookie_sets import MAX_COOKIE_FILE_BYTES
from offlinetube_api.errors import BadCookieFile, UnsupportedBody
from offlinetube_api.schemas import CookieSetPublic, ErrorMessage

router = APIRouter(prefix="/api/cookies", tags=["cookies"])

CookieSetName = Annotated[str, Path(pattern=NAME_PATTERN, description=NAME_HELP)]
TEXT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A Netscape cookies.txt, as browsers' export add-ons and yt-dlp write it.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.get("", response_model=list[CookieSetPublic])
async def list_cookie_sets(cookie_sets: CookieSetsDep) -> list[CookieSetPublic]:
    """Every cookie set, by name, with its domains and when their cookies expire: no values."""
    return [CookieSetPublic.from_set(cookie_set) for cookie_set in await cookie_sets.all()]


@router.put(
    "/{name}",
    response_model=CookieSetPublic,
    openapi_extra=TEXT_BODY,
    responses={
        413: {
            "model": ErrorMessage,
            "description": f"The file is larger than {MAX_COOKIE_FILE_BYTES // 1024} KiB.",
        },
        415: {"model": ErrorMessage, "description": "The body is not sent as text/plain."},
        422: unprocessable("Not a cookies.txt: `detail[0].msg` names the line that is wrong."),
    },
)
async def save_cookie_set(
    name: CookieSetName, request: Request, cookie_sets: CookieSetsDep
) -> CookieSetPublic:
    """Add or replace the cookie set `name` with the cookies.txt in the body (`Content-Type:
    text/plain`). Downloads whose host matches one of its domains send it, unless they name
    another set."""
    if request.headers.get("content-type", "").partition(";")[0].strip() != "text/plain":
        raise UnsupportedBody("Send the cookies.txt as the body with Content-Type: text/plain")
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadCookieFile("The file is not UTF-8 text; export cookies.txt again") from None
    return CookieSetPublic.from_set(await cookie_sets.save(name, text))


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"model": ErrorMessage, "description": "No cookie set has this name."}},
)
async def remove_cookie_set(name: CookieSetName, cookie_sets: CookieSetsDep) -> Response:
    """Delete the cookie set `name`; downloads already running keep their copy until they end."""
    await cookie_sets.remove(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
