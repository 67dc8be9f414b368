"""`/docs` (Swagger UI) and `/redoc`, with their scripts, styles and icon served by the package
itself from `docs_assets/`, so both pages work on a machine with no internet. FastAPI's own
pages load them from cdn.jsdelivr.net (and ReDoc's from Google Fonts), and render blank offline.

The files are vendored from npm by `make vendor` (tools/vendor.py); `docs_assets/VENDORED.json`
records each package's version, and each package's folder is named after it
(`swagger-ui-dist-5.35.0/`), so an asset URL never changes content and browsers may keep it a
year. Like `/openapi.json`, the pages and their assets are open: they show no library content."""

import json
import os
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

ASSETS_PACKAGE = ("offlinetube_api.api", "docs_assets")
ASSETS_URL = "/docs/assets"
# A year: the version in every asset's path makes the file at a URL final.
IMMUTABLE = "public, max-age=31536000, immutable"
# Swagger UI would otherwise send the schema to validator.swagger.io for a badge.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# Both pages may load from this service alone: ReDoc's sidebar shows a logo from cdn.redoc.ly,
# which no option hides, and the browser now never asks for it. Inline: FastAPI's page starts
# Swagger UI with a script, and both libraries write their styles into the page.
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "frame-ancestors 'self'",
    )
)


class ImmutableStaticFiles(StaticFiles):
    """Static files answered with `Cache-Control: IMMUTABLE`, on a 304 too."""

    def file_response(
        self,
        full_path: os.PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response


@dataclass(frozen=True, slots=True)
class DocsAssetUrls:
    """Paths on this service of the files the two pages load."""

    swagger_js: str
    swagger_css: str
    redoc_js: str
    favicon: str


def vendored_versions() -> dict[str, str]:
    """`{"swagger-ui-dist": "5.35.0", "redoc": "2.5.4"}`, from `docs_assets/VENDORED.json`."""
    manifest_file = files(ASSETS_PACKAGE[0]) / ASSETS_PACKAGE[1] / "VENDORED.json"
    manifest: dict[str, dict[str, Any]] = json.loads(manifest_file.read_text())
    return {name: entry["version"] for name, entry in manifest.items()}


def docs_asset_urls() -> DocsAssetUrls:
    versions = vendored_versions()
    swagger = f"{ASSETS_URL}/swagger-ui-dist-{versions['swagger-ui-dist']}"
    redoc = f"{ASSETS_URL}/redoc-{versions['redoc']}"
    return DocsAssetUrls(
        swagger_js=f"{swagger}/swagger-ui-bundle.js",
        swagger_css=f"{swagger}/swagger-ui.css",
        redoc_js=f"{redoc}/redoc.standalone.js",
        favicon=f"{swagger}/favicon-32x32.png",
    )


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


def install_docs_pages(app: FastAPI) -> None:
    """Adds `/docs`, `/redoc` and `ASSETS_URL` to an app built with `docs_url=None` and
    `redoc_url=None`. The API has no OAuth2 scheme, so Swagger UI needs no redirect page."""
    urls = docs_asset_urls()
    openapi_url = app.openapi_url or "/openapi.json"

    # HEAD as well, as FastAPI's own pages and the probes answer it (uptime monitors send it).
    @app.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
    async def swagger_ui_page() -> HTMLResponse:
        return _local_only(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=urls.swagger_js,
                swagger_css_url=urls.swagger_css,
                swagger_favicon_url=urls.favicon,
                swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
            )
        )

    @app.api_route("/redoc", methods=["GET", "HEAD"], include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return _local_only(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=urls.redoc_js,
                redoc_favicon_url=urls.favicon,
                with_google_fonts=False,
            )
        )

    app.mount(ASSETS_URL, ImmutableStaticFiles(packages=[ASSETS_PACKAGE]), name="docs_assets")
