"""OFFLINETUBE_PROXY as written: one URL, or per-site rules; which proxy a page gets; what a
bad value is told (tests/test_start_up_errors.py shows the one line it stops the start with)."""

import pytest

from offlinetube_api.config import Settings, redacted_proxy
from offlinetube_api.proxy_rules import parse_proxy_rules

RULES = "youtube.com=socks5://10.0.0.2:1080, music.youtube.com=direct, *=http://proxy.lan:3128"


@pytest.mark.parametrize(
    ("url", "proxy"),
    [
        ("https://www.youtube.com/watch?v=x", "socks5://10.0.0.2:1080"),
        ("https://youtube.com/watch?v=x", "socks5://10.0.0.2:1080"),
        ("https://YouTube.com./watch?v=x", "socks5://10.0.0.2:1080"),
        ("https://music.youtube.com/watch?v=x", ""),  # the more specific rule: direct
        ("https://notyoutube.com/watch", "http://proxy.lan:3128"),  # not a sub-domain
        ("https://vimeo.com/1", "http://proxy.lan:3128"),
    ],
)
def test_the_most_specific_site_chooses_the_proxy(url: str, proxy: str) -> None:
    assert parse_proxy_rules(RULES).for_url(url) == proxy


def test_one_url_is_every_site_proxy() -> None:
    rules = parse_proxy_rules("socks5h://user:pa=ss@10.0.0.2:1080")

    assert rules.for_url("https://vimeo.com/1") == "socks5h://user:pa=ss@10.0.0.2:1080"


def test_a_site_without_a_rule_is_left_to_the_environment() -> None:
    assert parse_proxy_rules("youtube.com=http://10.0.0.2:3128").for_url("https://a.b/") is None
    assert Settings(_env_file=None).proxy_for("https://a.b/") is None  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "name a proxy URL, or <site>=<proxy URL or direct> rules"),
        ("10.0.0.2:1080", "the proxy must be a URL of http, https, socks4, socks4a, socks5, "),
        ("ftp://10.0.0.2", "the proxy must be a URL of http, https, socks4, socks4a, socks5, "),
        ("youtube.com=sock5://h:1", "the proxy of youtube.com must be a URL of http, https, "),
        ("http://10.0.0.2:99999", "the proxy must be <scheme>://[user:password@]host[:port]"),
        ("http://10.0.0.2/path", "the proxy must be <scheme>://[user:password@]host[:port]"),
        ("socks5://", "the proxy must be <scheme>://[user:password@]host[:port]"),
        ("you tube=direct", "'you tube' is not a host name or *"),
        ("*=direct,*=http://h:1", "* has more than one rule"),
    ],
)
def test_a_bad_value_is_told_in_words(value: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("*", r"\*").replace("[", r"\[")):
        parse_proxy_rules(value)


def test_passwords_are_left_out_of_the_value_shown() -> None:
    assert redacted_proxy("youtube.com=socks5://me:secret@h:1,*=http://:pw@h:2") == (
        "youtube.com=socks5://me:***@h:1,*=http://:***@h:2"
    )
    assert redacted_proxy("socks5://10.0.0.2:1080") == "socks5://10.0.0.2:1080"
