"""Netscape `cookies.txt` files, as browsers' export add-ons and yt-dlp write them: checked
with the standard library's MozillaCookieJar, summed up by domain without their values, and
matched against a video's host. No I/O; a value never leaves this module in a message.

Matching follows the cookie domain rules (RFC 6265 section 5.1.3, as the file's
include-subdomains flag says): a domain with a leading dot, `.example.com`, matches
`example.com` and every sub-domain (`www.example.com`); one without, `example.com`, matches
that host only. Hosts compare without case and without a port."""

import io
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import Cookie, LoadError, MozillaCookieJar

from offlinetube_api.errors import BadCookieFile

# A cookie set's name: what PUT /api/cookies/{name} takes and a download request names.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
NAME_HELP = "1 to 64 characters: lower-case letters, digits, '-' and '_', not starting with '-'"
HEADER = "# Netscape HTTP Cookie File"
_FIELDS = "domain, include-subdomains, path, secure, expiry, name, value"
_EXPIRY = re.compile(r"^\d*$")


@dataclass(frozen=True, slots=True)
class DomainCookies:
    """What a cookie set holds for one domain: how many cookies, and when the first and the
    last of those with an expiry expire (None when all end with the browser session)."""

    domain: str
    cookies: int
    expires_first: datetime | None
    expires_last: datetime | None


def parse(text: str) -> list[DomainCookies]:
    """The domains of a cookies.txt, in the file's order. Raises BadCookieFile for a text
    MozillaCookieJar refuses (saying which line and why) or that holds no cookie."""
    jar = _load(text)
    if jar is None:
        raise BadCookieFile(_first_bad_line(text))
    by_domain: dict[str, list[Cookie]] = {}
    for cookie in jar:
        by_domain.setdefault(cookie.domain, []).append(cookie)
    if not by_domain:
        raise BadCookieFile("The file holds no cookie: export the cookies of a signed-in site")
    return [_summary(domain, cookies) for domain, cookies in by_domain.items()]


def _load(text: str) -> MozillaCookieJar | None:
    jar = MozillaCookieJar()
    try:
        with warnings.catch_warnings():  # cookiejar warns with a traceback on a bad line
            warnings.simplefilter("ignore")
            # load() takes a path only; the text is parsed where it is, never written out.
            jar._really_load(io.StringIO(text, newline=None), "cookies.txt", True, True)  # type: ignore[attr-defined]
    except LoadError:
        return None
    return jar


def _first_bad_line(text: str) -> str:
    """Why the jar refused `text`: the first line it refuses alone, and what is wrong with it.
    Only the field count and the flags are quoted, never a name or a value."""
    lines = io.StringIO(text, newline=None).read().split("\n")
    if _load(lines[0] + "\n") is None:
        return f"Line 1 must be the cookies.txt header '{HEADER}', as browsers export it"
    for number, line in enumerate(lines[1:], start=2):
        if _load(f"{HEADER}\n{line}\n") is None:
            return f"Line {number} is not a cookie: {_what_is_wrong(line)}"
    return "The file is not a Netscape cookies.txt"


def _what_is_wrong(line: str) -> str:
    fields = line.removeprefix("#HttpOnly_").split("\t")
    if len(fields) != 7:
        count = len(fields)
        return f"a cookie line has 7 fields separated by tabs ({_FIELDS}); this one has {count}"
    if (fields[1] == "TRUE") != fields[0].startswith("."):
        return "the include-subdomains field must be TRUE exactly when the domain starts with '.'"
    if not _EXPIRY.match(fields[4]):
        return "the expiry (5th field) must be a whole number of seconds since 1970, or empty"
    return f"its fields ({_FIELDS}) do not read as a cookie"


def _summary(domain: str, cookies: list[Cookie]) -> DomainCookies:
    expiries = sorted(cookie.expires for cookie in cookies if cookie.expires)
    return DomainCookies(
        domain=domain,
        cookies=len(cookies),
        expires_first=_moment(expiries[0]) if expiries else None,
        expires_last=_moment(expiries[-1]) if expiries else None,
    )


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def domain_matches(host: str, domain: str) -> int:
    """How well the cookie `domain` matches `host`: 0 not at all, else the length of the
    domain matched, so that the most specific of several sets wins."""
    host, domain = host.lower().rstrip("."), domain.lower()
    if domain.startswith("."):
        matched = host == domain[1:] or host.endswith(domain)
    else:
        matched = host == domain
    return len(domain.lstrip(".")) if matched else 0
