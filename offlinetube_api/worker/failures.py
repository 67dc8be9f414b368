"""Turns what yt-dlp raised into a message a person can read and an ErrorKind the retry policy
can act on."""

import errno
import os
import re
from http import HTTPStatus

from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import PostProcessingError, UnsupportedError, remove_terminal_sequences

from offlinetube_api.models import ErrorKind
from offlinetube_api.worker.network_guard import ALLOW_HINT, ForbiddenTarget

_BY_MESSAGE: tuple[tuple[ErrorKind, str], ...] = (
    (ErrorKind.DISK_FULL, r"no space left on device|disk quota exceeded"),
    (ErrorKind.STORAGE, r"read-only file system|\[Errno (1|13|30)\] "),
    (ErrorKind.RATE_LIMITED, r"HTTP Error 429|too many requests"),
    # yt-dlp's raise_login_required says "only available for registered users. Use
    # --cookies-from-browser or --cookies for the authentication"; YouTube "Sign in to confirm".
    (
        ErrorKind.AUTH_REQUIRED,
        r"HTTP Error (401|403)|sign in|log ?in|members[- ]only|private|registered users"
        r"|--cookies",
    ),
    (ErrorKind.NOT_FOUND, r"HTTP Error (404|410)|not available|unavailable|removed|not exist"),
    (ErrorKind.NETWORK, r"HTTP Error 5\d\d"),
    (ErrorKind.UNSUPPORTED, r"unsupported url|no video formats found"),
    (
        ErrorKind.NETWORK,
        r"timed? ?out|connection (reset|refused|aborted)|temporary failure in name resolution"
        r"|network is unreachable|incomplete read|unable to connect",
    ),
    (ErrorKind.POSTPROCESS, r"postprocessing|ffmpeg|conversion failed"),
)
# A folder refusing a write: read-only, permissions, an immutable flag.
_REFUSED_WRITE = (errno.EROFS, errno.EACCES, errno.EPERM)
_MAX_CAUSE_DEPTH = 10
# Some yt-dlp paths (subtitles) keep only the text of the guard's refusal, not the exception.
_REFUSAL_MESSAGE = re.compile(r"Refused to .*?" + re.escape(f"({ALLOW_HINT})"))


def clean_message(message: str) -> str:
    message = remove_terminal_sequences(message).strip()
    return message.removeprefix("ERROR:").removeprefix("WARNING:").strip()


def guard_refusal(message: str) -> str | None:
    """The SSRF guard's refusal quoted in a message yt-dlp wrote, if there is one."""
    refused = _REFUSAL_MESSAGE.search(message)
    return refused.group() if refused else None


def _kind_of_http_status(status: int) -> ErrorKind:
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return ErrorKind.RATE_LIMITED
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return ErrorKind.AUTH_REQUIRED
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.GONE):
        return ErrorKind.NOT_FOUND
    if status >= 500:
        return ErrorKind.NETWORK
    return ErrorKind.UNKNOWN


def _inner(error: BaseException) -> BaseException | None:
    """What yt-dlp's wrappers (DownloadError, ExtractorError) were raised from."""
    for attribute in ("cause", "exc_info"):
        inner = getattr(error, attribute, None)
        if isinstance(inner, tuple):
            inner = inner[1]
        if isinstance(inner, BaseException) and inner is not error:
            return inner
    return error.__cause__ or error.__context__


def _kind_of_cause(error: BaseException) -> ErrorKind | None:
    """The exception types say it best; messages are the fallback."""
    cause: BaseException | None = error
    for _ in range(_MAX_CAUSE_DEPTH):
        if cause is None:
            return None
        if isinstance(cause, HTTPError):
            return _kind_of_http_status(cause.status)
        if isinstance(cause, UnsupportedError):
            return ErrorKind.UNSUPPORTED
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return ErrorKind.DISK_FULL
        if isinstance(cause, OSError) and cause.errno in _REFUSED_WRITE and cause.filename:
            return ErrorKind.STORAGE
        if isinstance(cause, TransportError | TimeoutError | ConnectionError):
            return ErrorKind.NETWORK
        if isinstance(cause, PostProcessingError):
            return ErrorKind.POSTPROCESS
        cause = _inner(cause)
    return None


def _refusal(error: BaseException) -> ForbiddenTarget | None:
    """The SSRF guard's refusal, however deep yt-dlp and its HTTP library wrapped it."""
    cause: BaseException | None = error
    for _ in range(_MAX_CAUSE_DEPTH):
        if cause is None or isinstance(cause, ForbiddenTarget):
            return cause
        cause = _inner(cause)
    return None


def refused_resume(error: BaseException) -> bool:
    """Whether the server answered 416: the range asked to continue a .part file is past its
    end."""
    cause: BaseException | None = error
    for _ in range(_MAX_CAUSE_DEPTH):
        if cause is None or isinstance(cause, HTTPError):
            break
        cause = _inner(cause)
    return (
        isinstance(cause, HTTPError) and cause.status == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE
    )


def classify(error: BaseException) -> tuple[ErrorKind, str]:
    refusal = _refusal(error)
    if refusal is not None:  # its own message says why; the wrappers only add noise
        return ErrorKind.FORBIDDEN_TARGET, refusal.message
    message = clean_message(str(error))
    if refused := guard_refusal(message):
        return ErrorKind.FORBIDDEN_TARGET, refused
    kind = _kind_of_cause(error)
    if kind is None or kind is ErrorKind.UNKNOWN:
        kind = next(
            (k for k, pattern in _BY_MESSAGE if re.search(pattern, message, re.IGNORECASE)),
            ErrorKind.UNKNOWN,
        )
    return kind, message


def sign_in_message(message: str, *, sent_cookies: bool) -> str:
    """An `auth_required` failure's message, saying what to do: the site wants a signed-in
    session, which a cookie set gives (routes/cookies.py)."""
    if sent_cookies:
        advice = (
            "the cookies this task sent were not enough (signed out or expired?): export them "
            "again from a browser signed in to the site and upload them with "
            "PUT /api/cookies/{name}, then retry"
        )
    else:
        advice = (
            "the site wants a signed-in session: export cookies.txt from a browser signed in "
            "to it and upload it with PUT /api/cookies/{name}, then retry"
        )
    return f"{message.rstrip('.')}. Sign-in required: {advice}"


def refused_write_message(message: str, *, downloads_dir: str, thumbnails_dir: str) -> str:
    """A `storage` failure's message, naming the folder that refused the write, so a person
    knows what to fix. `message` is what classify() made of the error."""
    folder, role = (downloads_dir, "downloads")
    if thumbnails_dir + os.sep in message:
        folder, role = (thumbnails_dir, "thumbnails")
    return (
        f"The {role} folder {folder} refused a write ({message}); make it writable again and "
        "retry: what was downloaded so far is kept"
    )
