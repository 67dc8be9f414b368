"""Two middlewares against other web pages that drive the service through a visitor's browser.

`TrustedHosts`: while no key is needed, only the hosts in OFFLINETUBE_ALLOWED_HOSTS (by default
the loopback names) are answered, so a DNS-rebinding name that points at 127.0.0.1 gets a 400.
With keys required any `Host` is answered unless the setting is given, so a LAN or Docker
instance reached by its address keeps working.

`SameOriginWrites`: a POST, PUT, PATCH or DELETE whose `Origin` names another host than the
one it was sent to is refused (403) unless that origin is named in OFFLINETUBE_CORS_ORIGINS;
`*` there opens reads only. Requests without `Origin` (curl, scripts) are not browsers' and
pass."""

from functools import lru_cache
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from offlinetube_api.api.auth import AuthPolicy
from offlinetube_api.config import LOCAL_HOSTS
from offlinetube_api.errors import CrossOriginWrite, UnknownHost, error_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# A service sees few distinct `Host` headers; parsing one costs more than a thumbnail's lookup.
@lru_cache(maxsize=256)
def host_name(host_header: str) -> str | None:
    """`Example.COM:8001` -> `example.com`, `[::1]:8001` -> `::1`; None when malformed."""
    try:
        parts = urlsplit(f"//{host_header}")
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts.hostname.rstrip(".") if parts.hostname else None


class HostCheck:
    """Whether a request's `Host` is answered. `allowed_hosts` None: the loopback names while
    no key is needed, anything otherwise. Shared by TrustedHosts and the thumbnails' fast lane,
    which answers ahead of it."""

    def __init__(self, allowed_hosts: list[str] | None) -> None:
        self._given = _host_names(allowed_hosts) if allowed_hosts is not None else None
        self._local = _host_names(list(LOCAL_HOSTS))

    async def admits(self, scope: Scope, host: str) -> bool:
        """`host`: the request's `Host` header, "" when it sent none."""
        allowed = await self._allowed(scope)
        return allowed is None or "*" in allowed or host_name(host) in allowed

    async def _allowed(self, scope: Scope) -> frozenset[str] | None:
        if self._given is not None:
            return self._given
        auth: AuthPolicy = scope["app"].state.auth
        return None if await auth.required() else self._local


class TrustedHosts:
    """Refuses a request whose `Host` the HostCheck does not admit, with a 400."""

    def __init__(self, app: ASGIApp, *, hosts: HostCheck) -> None:
        self._app = app
        self._hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if await self._hosts.admits(scope, host):
            await self._app(scope, receive, send)
            return
        await error_response(UnknownHost(host))(scope, receive, send)


def _host_names(hosts: list[str]) -> frozenset[str]:
    return frozenset("*" if host == "*" else host_name(host) or host.lower() for host in hosts)


class SameOriginWrites:
    def __init__(self, app: ASGIApp, *, cors_origins: list[str]) -> None:
        self._app = app
        self._named = frozenset(_origin(origin) for origin in cors_origins if origin != "*")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in WRITE_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self._admits(origin, headers.get("host", "")):
                await error_response(CrossOriginWrite(origin))(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _admits(self, origin: str, host: str) -> bool:
        # The scheme is left out: behind a TLS proxy the page is https, the request here http.
        own = urlsplit(origin).netloc.lower() == host.lower() and host != ""
        return own or _origin(origin) in self._named


def _origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()
