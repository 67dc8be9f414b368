"""What kind of failure yt-dlp reported decides whether it is retried."""

import errno
import io

import pytest
from yt_dlp.networking.common import Response
from yt_dlp.networking.exceptions import HTTPError
from yt_dlp.utils import DownloadError, ExtractorError, UnsupportedError

from offlinetube_api.models import ErrorKind
from offlinetube_api.worker.failures import classify


def _http_error(status: int) -> HTTPError:
    return HTTPError(Response(io.BytesIO(b""), "http://x.test/", {}, status=status))


def _wrapped(cause: BaseException, message: str) -> DownloadError:
    """As yt-dlp raises it: a DownloadError around what really happened."""
    return DownloadError(f"\x1b[0;31mERROR:\x1b[0m {message}", (type(cause), cause, None))


@pytest.mark.parametrize(
    ("cause", "message", "kind"),
    [
        (_http_error(503), "Unable to download webpage: HTTP Error 503", ErrorKind.NETWORK),
        (_http_error(429), "HTTP Error 429: Too Many Requests", ErrorKind.RATE_LIMITED),
        (_http_error(404), "HTTP Error 404: Not Found", ErrorKind.NOT_FOUND),
        (_http_error(403), "HTTP Error 403: Forbidden", ErrorKind.AUTH_REQUIRED),
        (
            UnsupportedError("http://x.test/"),
            "Unsupported URL: http://x.test/",
            ErrorKind.UNSUPPORTED,
        ),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left", ErrorKind.DISK_FULL),
        (ConnectionResetError(), "Connection reset by peer", ErrorKind.NETWORK),
        (
            ExtractorError("Private video. Sign in"),
            "Private video. Sign in",
            ErrorKind.AUTH_REQUIRED,
        ),
        (ExtractorError("This video has been removed"), "Video removed", ErrorKind.NOT_FOUND),
        (ValueError("odd"), "something odd", ErrorKind.UNKNOWN),
    ],
)
def test_failures_are_classified(cause: BaseException, message: str, kind: ErrorKind) -> None:
    assert classify(_wrapped(cause, message))[0] is kind


def test_message_is_cleaned_of_colour_codes_and_prefix() -> None:
    _, message = classify(_wrapped(ValueError(), "Unsupported URL: http://x.test/"))

    assert message == "Unsupported URL: http://x.test/"


def test_only_network_rate_limits_and_killed_processes_are_transient() -> None:
    assert {kind for kind in ErrorKind if kind.is_transient} == {
        ErrorKind.NETWORK,
        ErrorKind.RATE_LIMITED,
        ErrorKind.KILLED,
    }
