"""The app's Jinja2 templates, their filters, and the one function that renders a page with the
app's Content-Security-Policy. Text from sites (titles, errors) is escaped by autoescape."""

import json
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

STATIC_URL = "/static"
VENDOR_URL = f"{STATIC_URL}/vendor"
# Scripts and styles from this service only, no inline script or style (htmx is told not to
# add its indicator style). Images may come from elsewhere: a task whose thumbnail was not
# stored locally shows the site's own (the API's `thumbnail` field). Media and the event
# stream come from this service.
APP_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https: http:",
        "media-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
# htmx's settings, read from a <meta> element: no eval (hx-on, js:), no inline style, and
# error answers (4xx, 5xx) swapped in like others, so the words of an error show in the page.
HTMX_CONFIG = {
    "allowEval": False,
    "includeIndicatorStyles": False,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[2345]..", "swap": True, "error": False},
    ],
}
_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_size(size: float | None) -> str:
    """1536000 -> "1.5 MB" (powers of 1000, as file managers show them); None -> ""."""
    if size is None:
        return ""
    unit = 0
    while size >= 1000 and unit < len(_UNITS) - 1:
        size, unit = size / 1000, unit + 1
    return f"{size:.0f} {_UNITS[unit]}" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


def clock(seconds: float | None) -> str:
    """212.4 -> "3:32", 3725 -> "1:02:05"; None -> ""."""
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def span(seconds: float) -> str:
    """21600 -> "6 h", 900 -> "15 min", 95400 -> "1 d 2 h 30 min" (whole minutes)."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    return " ".join(f"{count} {unit}" for count, unit in parts if count) or "0 min"


def minutes(seconds: float | None) -> str:
    """Seconds as minutes for a form field: 90 -> "1.5", 3600 -> "60"; None -> ""."""
    return "" if seconds is None else f"{seconds / 60:g}"


def short_date(moment: datetime | None) -> str:
    """A UTC moment as "2026-11-30 21:05"."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def waiting(reason: str | None, until: datetime | None) -> str:
    """Why a queued task is held back, in words (static/queue.js writes the same): `rate_limited`
    until 21:05 UTC -> "Waiting: its site is cooling down after a rate limit, until 21:05:30
    UTC"; None -> ""."""
    if reason is None:
        return ""
    at = f", until {until.astimezone(UTC):%H:%M:%S} UTC" if until else ""
    return WAITING[reason] + at


# The words of each WaitingReason (models.py).
WAITING = {
    "rate_limited": "Waiting: its site is cooling down after a rate limit",
    "bot_check": "Waiting: its site is cooling down after a bot check",
    "site_busy": "Waiting: its site runs as many downloads as OFFLINETUBE_MAX_PER_SITE allows",
}


def vendored_script(name: str) -> str:
    """The URL of a vendored package's script, `static/vendor/VENDORED.json` naming its version:
    `htmx.org` -> `/static/vendor/htmx.org-2.0.11/htmx.min.js`."""
    manifest_file = files("offlinetube_api.web") / "static" / "vendor" / "VENDORED.json"
    entry: dict[str, Any] = json.loads(manifest_file.read_text())[name]
    script = next(file for file in entry["files"] if file.endswith(".js"))
    return f"{VENDOR_URL}/{name}-{entry['version']}/{script}"


@cache
def templates() -> Jinja2Templates:
    environment = Environment(
        loader=PackageLoader("offlinetube_api.web", "templates"), autoescape=True
    )
    environment.filters.update(
        size=human_size, clock=clock, date=short_date, span=span, minutes=minutes
    )
    environment.globals.update(waiting=waiting)
    environment.globals.update(
        static=STATIC_URL,
        htmx_url=vendored_script("htmx.org"),
        htmx_config=json.dumps(HTMX_CONFIG, separators=(",", ":")),
    )
    return Jinja2Templates(env=environment)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """The template `name` with `context`, as an HTML answer under the app's CSP. Templates
    see the request's web session as `session` (None without one), for its CSRF token."""
    context = {"session": getattr(request.state, "web_session", None), **(context or {})}
    response = templates().TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = APP_CSP
    return response
