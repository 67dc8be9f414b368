"""The app on a phone: its web app manifest (`/manifest.webmanifest`), which lets a browser
install it, and the manifest's share target (`/share`), where a link shared to the installed
app from another app lands.

A GET that starts a download is one any page could send through a visitor's browser (a link,
an image). So `/share` starts it only when the browser itself opened the address, as it does
for a share (`Sec-Fetch-Site: none`, which no page can send), or a page of this app did
(`same-origin`); anything else only fills the Add form in, and a tap on Download sends it."""

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import RedirectResponse, Response

from offlinetube_api.api.deps import DownloadsDep
from offlinetube_api.web.outcome import answer
from offlinetube_api.web.routes.add import submit_form
from offlinetube_api.web.templating import STATIC_URL

pages = APIRouter()
open_pages = APIRouter()

ICONS = f"{STATIC_URL}/icons"
MANIFEST = {
    "name": "OfflineTube",
    "short_name": "OfflineTube",
    "description": "Download videos and watch them offline",
    "id": "/",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "background_color": "#ffffff",
    "theme_color": "#c4302b",
    "icons": [
        {"src": f"{ICONS}/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": f"{ICONS}/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {
            "src": f"{ICONS}/icon-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
        {"src": f"{ICONS}/icon.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
    # Android's share sheet gives most links as `text` (often with words around), some as `url`.
    "share_target": {
        "action": "/share",
        "method": "GET",
        # What Chromium asks for even with GET, where the parameters go in the query.
        "enctype": "application/x-www-form-urlencoded",
        "params": {"title": "title", "text": "text", "url": "url"},
    },
}
_WEB_ADDRESS = re.compile(r"https?://\S+", re.IGNORECASE)
# Sec-Fetch-Site values no other site's page can make a browser send.
_OWN_NAVIGATIONS = frozenset({"none", "same-origin"})


@open_pages.get("/manifest.webmanifest")
async def manifest() -> Response:
    """Open: browsers fetch a manifest without credentials."""
    return JSONResponse(MANIFEST, media_type="application/manifest+json")


def shared_address(url: str, text: str) -> str | None:
    """The first web address in `url`, else in `text`: "Look https://x.test/v/1" -> the address."""
    for field in (url, text):
        found = _WEB_ADDRESS.search(field)
        if found:
            return found.group(0)
    return None


@pages.get("/share")
async def share(
    request: Request, downloads: DownloadsDep, url: str = "", text: str = "", title: str = ""
) -> Response:
    """`title` is taken and ignored: the site's own title is the one kept."""
    address = shared_address(url, text)
    if address is None:
        return RedirectResponse("/", status_code=303)
    if request.headers.get("sec-fetch-site") not in _OWN_NAVIGATIONS:
        return RedirectResponse(f"/?{urlencode({'url': address})}", status_code=303)
    outcome = await submit_form(request, downloads, url=address, quality="best", subtitles="")
    return answer(request, outcome, then="/")
