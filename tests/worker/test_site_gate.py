"""The rules of the per-site gate on their own: which failures cool a site down, how long a
cool-down lasts, and what a site is. The gate at work, through HTTP, is in
tests/api/routes/test_site_cooldown.py."""

from datetime import UTC, datetime, timedelta

import pytest

from offlinetube_api.models import ErrorKind, WaitingReason
from offlinetube_api.site_cooldowns import Cooldown, next_cooldown
from offlinetube_api.worker.messages import Failed
from offlinetube_api.worker.site_gate import cooldown_reason
from offlinetube_api.worker.sites import site_of

AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def _after(current: Cooldown | None, at: datetime) -> Cooldown:
    return next_cooldown(
        current, site="s", reason=WaitingReason.RATE_LIMITED, at=at, first_s=10, ceiling_s=60
    )


def test_each_cooldown_in_a_row_doubles_up_to_the_ceiling() -> None:
    lengths, current = [], None
    for _ in range(6):
        at = current.until if current else AT  # a failure as soon as the last one ended
        current = _after(current, at)
        lengths.append((current.until - at).total_seconds())

    assert lengths == [10, 20, 40, 60, 60, 60]
    assert current is not None and current.strikes == 6


def test_a_failure_during_a_cooldown_does_not_lengthen_it() -> None:
    first = _after(None, AT)

    assert _after(first, AT + timedelta(seconds=9)) == first


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (Failed("HTTP Error 429: Too Many Requests", ErrorKind.RATE_LIMITED), "rate_limited"),
        (
            Failed(
                "Sign in to confirm you're not a bot. Sign-in required: ...",
                ErrorKind.AUTH_REQUIRED,
            ),
            "bot_check",
        ),
        (Failed("HTTP Error 403: Forbidden", ErrorKind.AUTH_REQUIRED), None),
        (Failed("HTTP Error 503: Service Unavailable", ErrorKind.NETWORK), None),
    ],
)
def test_rate_limits_and_bot_checks_cool_their_site_down(
    failure: Failed, reason: str | None
) -> None:
    assert cooldown_reason(failure) == reason


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://www.YouTube.com/watch?v=dQw4w9WgXcQ", "youtube.com"),
        ("https://youtube.com/playlist?list=PL1", "youtube.com"),
        ("http://127.0.0.1:8080/watch?video=a", "127.0.0.1:8080"),
        ("http://[::1]:9000/a", "[::1]:9000"),
    ],
)
def test_a_site_is_the_host_and_port_without_www(url: str, site: str) -> None:
    assert site_of(url) == site
