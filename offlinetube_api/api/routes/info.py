from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator

from offlinetube_api.api.deps import InfoReaderDep
from offlinetube_api.api.openapi import RETRY_AFTER, unprocessable
from offlinetube_api.api.rate_limit import limit_info
from offlinetube_api.cookie_files import NAME_PATTERN as COOKIE_SET_NAME
from offlinetube_api.errors import UnknownCookieSet
from offlinetube_api.info_schemas import VideoInfoPublic
from offlinetube_api.models import checked_download_url
from offlinetube_api.schemas import URL_MAX_LENGTH, URL_PATTERN, ErrorMessage

router = APIRouter(prefix="/api", tags=["downloads"])

ANSWERS: dict[int | str, dict[str, Any]] = {
    422: unprocessable(
        "yt-dlp cannot read the page (no video on it, an HTTP error, a site it does not "
        "support, an address the SSRF guard refuses): `detail[0].msg` is its message, `loc` "
        '`["query", "url"]`. Also a `url` that is no absolute http(s) address, or an '
        "unknown `cookies` name."
    ),
    429: {
        "model": ErrorMessage,
        "description": "Too many pages read by this client in the last minute.",
        "headers": RETRY_AFTER,
    },
    500: {"model": ErrorMessage, "description": "The process reading the page died."},
    503: {
        "model": ErrorMessage,
        "description": "This service reads as many pages at once as it allows.",
        "headers": RETRY_AFTER,
    },
    504: {
        "model": ErrorMessage,
        "description": "The page was not read within `OFFLINETUBE_INFO_TIMEOUT_SECONDS`.",
    },
}

PageUrl = Annotated[
    str,
    Query(
        max_length=URL_MAX_LENGTH,
        description="The page to read: an absolute `http://` or `https://` address.",
        json_schema_extra={"format": "uri", "pattern": URL_PATTERN},
    ),
    AfterValidator(checked_download_url),
]


@router.get(
    "/info", response_model=VideoInfoPublic, responses=ANSWERS, dependencies=[Depends(limit_info)]
)
async def read_info(
    url: PageUrl,
    reader: InfoReaderDep,
    cookies: Annotated[
        str | None,
        Query(
            pattern=COOKIE_SET_NAME,
            description="The cookie set to send (see `PUT /api/cookies/{name}`); unset, the "
            "set with a domain that matches the URL's host, if any. An unknown name answers 422.",
        ),
    ] = None,
) -> VideoInfoPublic:
    """What yt-dlp sees at `url`, without downloading: title, duration, thumbnail, the formats
    (with which a browser plays), or a playlist's videos.

    Send a format's `format_id` as `format` to `POST /api/download` to download that one."""
    try:
        return VideoInfoPublic.from_info(await reader.read(url, cookies))
    except UnknownCookieSet as unknown:
        raise UnknownCookieSet(unknown.name, loc=("query", "cookies")) from None
