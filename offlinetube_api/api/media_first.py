"""MediaFirst: the middleware that answers the requests a library page and its player make
most, ahead of the middleware stack and the router: thumbnails (a page asks for dozens at once)
and videos (a playing `<video>` asks for range after range). For these answers the stack and
FastAPI's routing and dependency solving cost more than the answer itself (bench figures 1 and
2, bench/notes.md).

It takes a GET or HEAD of `/api/thumbnails/<id>` or `/api/stream/<name>` without `Origin` and
without a body, from a host the HostCheck admits (the first `Host`, as TrustedHosts reads it),
with media access granted, and hands it to the route module's fast answer (`answer_thumbnail`,
`answer_video`), which gives up (returns False) before sending anything for whatever it does
not answer itself. Every other request, a refusal, a miss or a
cross-origin read included, goes on through the stack to the documented routes, which answer
it with CORS, errors and dependencies like any route. The answers carry the two headers the
stack adds to an answer to a request without `Origin`: CORSMiddleware's `Vary: Origin` and
NoSniff's."""

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from offlinetube_api.api.auth import media_access
from offlinetube_api.api.nosniff import NOSNIFF_HEADER
from offlinetube_api.api.origins import HostCheck
from offlinetube_api.api.routes.stream import answer_video
from offlinetube_api.api.routes.thumbnails import answer_thumbnail
from offlinetube_api.errors import OfflineTubeError

# (scope, the path's last segment, receive, send) -> answered
FastAnswer = Callable[[Scope, str, Receive, Send], Awaitable[bool]]
_LANES: dict[str, FastAnswer] = {
    "/api/thumbnails/": answer_thumbnail,
    "/api/stream/": answer_video,
}
_STACK_HEADERS = [(b"vary", b"Origin"), NOSNIFF_HEADER]


class MediaFirst:
    def __init__(self, app: ASGIApp, *, hosts: HostCheck) -> None:
        self._app = app
        self._hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = _lane(scope)
        if lane is not None and await self._taken(scope):
            answer, name = lane
            if await answer(scope, name, receive, _with_stack_headers(send)):
                return
        await self._app(scope, receive, send)

    async def _taken(self, scope: Scope) -> bool:
        host: str | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                return False  # a cross-origin read: CORSMiddleware's to answer
            if name in (b"content-length", b"transfer-encoding") and value != b"0":
                return False  # a body: BodySizeLimit's to judge
            if name == b"host" and host is None:
                host = value.decode("latin-1")  # the first, as TrustedHosts reads it
        return await self._hosts.admits(scope, host or "") and await _access_granted(scope)


def _lane(scope: Scope) -> tuple[FastAnswer, str] | None:
    """The fast answer for this request's path, with the path's last segment."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return None
    for prefix, answer in _LANES.items():
        name = scope["path"].removeprefix(prefix)
        if name != scope["path"]:
            return (answer, name) if name and "/" not in name else None
    return None


async def _access_granted(scope: Scope) -> bool:
    request = Request(scope)
    query = request.query_params if scope["query_string"] else {}
    auth = scope["app"].state.auth
    try:
        await media_access(request, auth, query.get("exp"), query.get("sig"), query.get("kid"))
    except OfflineTubeError:
        return False
    return True


def _with_stack_headers(send: Send) -> Send:
    async def send_with_stack_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *_STACK_HEADERS]
        await send(message)

    return send_with_stack_headers
