"""The listing's cursor: an opaque token for a position in the library's order, handed out in
a `Link: <...>; rel="next"` header (RFC 8288) and taken back as `?before=<cursor>`.

A cursor is the position (the store's `TaskPage.following`, a non-negative 64-bit integer)
as `v1.<decimal>` in unpadded base64url, so clients treat it as a token rather than a number
to do arithmetic on, and a later release can change what it holds under another version."""

import base64
import binascii
import re
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, WithJsonSchema
from starlette.datastructures import URL

MAX_POSITION = 2**63 - 1  # both stores' seq is a signed 64-bit integer
_MAX_CURSOR_LENGTH = 64  # v1. and 19 digits take 31 characters
_CONTENT = re.compile(rb"v1\.(0|[1-9][0-9]{0,18})")
_NOT_A_CURSOR = (
    "is not a cursor of this listing: pass the `before` of the URL in the `Link` header of "
    "the previous page, unchanged"
)


def cursor(position: int) -> str:
    """The cursor of `position`, ready for a URL."""
    return base64.urlsafe_b64encode(f"v1.{position}".encode()).rstrip(b"=").decode("ascii")


def position(text: object) -> int:
    """The position `text`, a cursor, stands for. Raises ValueError, saying so in words, for
    anything `cursor()` did not make."""
    if not isinstance(text, str) or len(text) > _MAX_CURSOR_LENGTH:
        raise ValueError(f"This {_NOT_A_CURSOR}")
    try:
        content = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: text that is not ASCII
        raise ValueError(f"{text!r} {_NOT_A_CURSOR}") from exc
    found = _CONTENT.fullmatch(content)
    if found is None or int(found[1]) > MAX_POSITION:
        raise ValueError(f"{text!r} {_NOT_A_CURSOR}")
    return int(found[1])


# A query parameter that arrives as the position a cursor stands for; a malformed one is a 422
# like every other bad query parameter. Declared in the schema as the string it is on the wire.
Cursor = Annotated[
    int,
    BeforeValidator(position),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}),
]


def refuse_offset_with_cursor(offset: int, before: int | None) -> None:
    """A 422 for `offset` other than 0 beside `before`: the cursor already says where the page
    starts, and two starting points are one too many."""
    if before is not None and offset != 0:
        problem: dict[str, Any] = {
            "type": "value_error",
            "loc": ("query", "offset"),
            "msg": "Give either offset or before, not both: before already says where the page "
            "starts (leave offset out, or at 0)",
            "input": offset,
        }
        raise RequestValidationError([problem])


def next_link(url: URL, following: int) -> str:
    """The `Link` header value for the page after the one `url` asked for: the same path and
    query (status, limit...) with `before` the cursor of `following` and no `offset`."""
    after = url.remove_query_params(["offset", "before"]).include_query_params(
        before=cursor(following)
    )
    return f'<{after.path}?{after.query}>; rel="next"'
