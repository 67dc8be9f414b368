"""What /openapi.json says beyond what FastAPI infers from the routes: operation ids that read
well in generated clients, and the response headers and raw bodies several routes share."""

from typing import Any

from fastapi.openapi.constants import REF_PREFIX
from fastapi.routing import APIRoute

from offlinetube_api.schemas import ErrorMessage


def operation_id(route: APIRoute) -> str:
    """The route function's name, snake_case (`start_download`, `list_downloads`): generated
    clients name their methods after it. A HEAD route on the same function sets its own id
    (`stream_video_head`), since ids must be unique."""
    return route.name


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A header every answer of the status it is declared on carries."""
    return {"description": description, "schema": schema, "required": True}


_TEXT = {"type": "string"}
_COUNT = {"type": "integer", "minimum": 0}

LOCATION = {"Location": _header("`/api/downloads/<task_id>`", _TEXT)}
TOTAL_COUNT = {"X-Total-Count": _header("How many tasks match the filter, on all pages.", _COUNT)}
# Not on every answer: the last page has none.
NEXT_LINK = {
    "Link": {
        "description": '`</api/downloads?...&before=<cursor>>; rel="next"` (RFC 8288): the '
        "next page, while more tasks follow.",
        "schema": _TEXT,
    }
}
RETRY_AFTER = {"Retry-After": _header("Seconds to wait before trying again.", _COUNT)}
# Validators of a cached copy: FileResponse and the thumbnail cache set both for every file.
VALIDATORS = {
    "ETag": _header("Changes whenever the file does: send it in `If-None-Match`.", _TEXT),
    "Last-Modified": _header("When the file last changed, as an HTTP date.", _TEXT),
}
CONTENT_RANGE = {
    "Content-Range": _header("`bytes <first>-<last>/<size>`; on a `416`, `bytes */<size>`.", _TEXT)
}


def binary(*media_types: str) -> dict[str, Any]:
    """A response's `content`: the raw bytes of a file, of one of `media_types`."""
    return {
        media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in media_types
    }


def unprocessable(description: str) -> dict[str, Any]:
    """A `422` with our own words, answered in FastAPI's `HTTPValidationError` shape (a list of
    `{loc, msg, type}`), as every 422 of this API is (errors.Unprocessable), whether a
    parameter fails its type or one of our checks refuses it."""
    schema = {"$ref": f"{REF_PREFIX}HTTPValidationError"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def body_answers() -> dict[int | str, dict[str, Any]]:
    """The refusals of a route that reads a JSON body, before it validates it."""
    return {
        400: {"model": ErrorMessage, "description": "The body is not readable as JSON text."},
        413: {"model": ErrorMessage, "description": "The request body is larger than 16 KiB."},
    }
