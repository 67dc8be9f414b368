"""Which cookie set a URL gets: the cookie domain rules, then the most specific domain, then
the newest upload. Pure functions, no service."""

from datetime import UTC, datetime

import pytest

from offlinetube_api.cookie_files import DomainCookies, domain_matches
from offlinetube_api.cookie_sets import CookieSet, best_match


@pytest.mark.parametrize(
    ("host", "domain", "matches"),
    [
        ("www.example.com", ".example.com", True),
        ("example.com", ".example.com", True),
        ("EXAMPLE.com.", ".example.com", True),
        ("badexample.com", ".example.com", False),
        ("www.example.com", "example.com", False),
        ("example.com", "example.com", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("example.org", ".example.com", False),
    ],
)
def test_domains_match_hosts_as_cookies_do(host: str, domain: str, matches: bool) -> None:
    assert bool(domain_matches(host, domain)) is matches


def _set(name: str, *domains: str, day: int = 1) -> CookieSet:
    return CookieSet(
        name,
        tuple(DomainCookies(d, 1, None, None) for d in domains),
        datetime(2026, 1, day, tzinfo=UTC),
    )


def test_the_most_specific_domain_wins_then_the_newest_upload() -> None:
    sets = [
        _set("broad", ".example.com", day=3),
        _set("music", ".music.example.com", day=1),
        _set("older", ".example.com", day=2),
    ]

    assert best_match("www.music.example.com", sets) == "music"
    assert best_match("www.example.com", sets) == "broad"
    assert best_match("example.org", sets) is None
    assert best_match("example.org", []) is None
