"""OFFLINETUBE_PROXY: the proxy yt-dlp goes through for a page, chosen by the page's host.

Written as one proxy URL for every site (`socks5://10.0.0.2:1080`), or as comma-separated
`<site>=<proxy>` rules (`youtube.com=socks5://10.0.0.2:1080,*=direct`): a site is a host name,
which also covers its sub-domains, or `*` for every site no other rule names; the proxy is a URL
yt-dlp can use (`http`, `https`, `socks4`, `socks4a`, `socks5`, `socks5h`) or `direct` for none.
The most specific site wins. The page's rule holds for the whole yt-dlp run: its media, which a
site often serves from another host (a CDN), thumbnail and subtitles go the same way."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
DIRECT = "direct"
ANY_SITE = "*"
_SITE = re.compile(r"^(?:\*|[a-z0-9-]+(?:\.[a-z0-9-]+)*)$")


@dataclass(frozen=True, slots=True)
class ProxyRules:
    """(site, proxy) pairs, most specific site first; the proxy is a URL, or "" for none."""

    rules: tuple[tuple[str, str], ...]

    def for_url(self, url: str) -> str | None:
        """yt-dlp's `proxy` option for the page at `url`: a proxy URL, "" to connect directly,
        or None when no rule names the page's site (yt-dlp then follows the environment's
        HTTP_PROXY and HTTPS_PROXY, as it does without the setting)."""
        host = (urlsplit(url).hostname or "").rstrip(".")
        for site, proxy in self.rules:
            if site == ANY_SITE or host == site or host.endswith(f".{site}"):
                return proxy
        return None


def _rule_items(text: str) -> list[tuple[str, str]]:
    """The (site, proxy) pairs as written, unchecked; a URL alone is the rule for `*`. A site
    never holds `:` or `/`, so the `=` of a URL's query or password does not split it."""
    items = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        site, equals, proxy = item.partition("=")
        if not equals or ":" in site or "/" in site:
            site, proxy = ANY_SITE, item
        items.append((site.strip().lower().rstrip("."), proxy.strip()))
    return items


def parse_proxy_rules(text: str) -> ProxyRules:
    """Raises ValueError with a sentence naming what is wrong (never a password)."""
    items = _rule_items(text)
    if not items:
        raise ValueError(f"name a proxy URL, or <site>=<proxy URL or {DIRECT}> rules")
    sites = [site for site, _ in items]
    for site, proxy in items:
        if not _SITE.match(site):
            raise ValueError(f"{site!r} is not a host name or {ANY_SITE}")
        if sites.count(site) > 1:
            raise ValueError(f"{site} has more than one rule")
        _check_proxy(site, proxy)
    rules = [(site, "" if proxy == DIRECT else proxy) for site, proxy in items]
    # The longest site first, `*` last: a sub-domain's rule wins over its domain's.
    rules.sort(key=lambda rule: -1 if rule[0] == ANY_SITE else len(rule[0]), reverse=True)
    return ProxyRules(tuple(rules))


def _check_proxy(site: str, proxy: str) -> None:
    if proxy == DIRECT:
        return
    where = "the proxy" if site == ANY_SITE else f"the proxy of {site}"
    parts = urlsplit(proxy)
    if parts.scheme.lower() not in PROXY_SCHEMES:
        schemes = ", ".join(PROXY_SCHEMES)
        raise ValueError(f"{where} must be a URL of {schemes}, or {DIRECT}")
    try:
        port = parts.port  # ValueError when it is not a number from 0 to 65535
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or parts.path not in ("", "/"):
        raise ValueError(f"{where} must be <scheme>://[user:password@]host[:port]")
