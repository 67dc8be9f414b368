"""HTTP requests this process answered, by route and status, with their latency. The route
label is the path template the request matched (`/api/downloads/{task_id}`), never the raw
path, so an id or a scanner's made-up paths add no series; a path no route takes is counted
under UNMATCHED."""

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"
# Answers take milliseconds; an event stream's lasts as long as its client stays.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60)


class HttpMetrics:
    """The counter and the histogram of one app's requests."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # The series of each (method, route, status), looked up once: `labels()` takes a lock
        # and builds its key each time, two thirds of what counting a request costs.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self.requests = Counter(
            "offlinetube_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "offlinetube_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )

    def count(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series[(method, route, status)] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        requests, latency = series
        requests.inc()
        latency.observe(seconds)


class CountRequests:
    """Outermost middleware: it sees every answer, those of the other middlewares included.
    The app's HttpMetrics is read from `app.state.metrics` at each request."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server sends when the app raises before it answers

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_and_note)
        finally:
            http: HttpMetrics = scope["app"].state.metrics.http
            elapsed = time.perf_counter() - started
            http.count(scope["method"], route_template(scope), status, elapsed)


def route_template(scope: Scope) -> str:
    """The template of the route the router chose, or MediaFirst's; for another request
    answered before routing (a CORS preflight, a refused host), of the documented path it
    names."""
    chosen: BaseRoute | None = scope.get("route")
    path = getattr(chosen, "path", None)
    if isinstance(path, str):
        return path
    app = scope["app"]
    templates: DocumentedPaths | None = getattr(app.state, "documented_paths", None)
    if templates is None:
        templates = app.state.documented_paths = DocumentedPaths(app.openapi()["paths"])
    return templates.match(scope["path"])


class DocumentedPaths:
    """The path templates of an app's OpenAPI schema, matched as its router would match them.
    Built once per app, at its first request answered before routing."""

    def __init__(self, templates: Iterable[str]) -> None:
        self._patterns = [(compile_path(template)[0], template) for template in templates]

    def match(self, path: str) -> str:
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED
