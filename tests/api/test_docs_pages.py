"""`/docs` and `/redoc` load nothing but files the service serves itself (vendored from npm
with their licences, as `docs_assets/VENDORED.json` records and tests/test_vendor.py checks), so
both work with no internet; like `/openapi.json` they need no key."""

from pathlib import Path

import pytest

from offlinetube_api.api.docs_pages import IMMUTABLE
from tests.fixtures.page_assets import referenced_urls
from tests.fixtures.service import RunningService, ServiceFactory

# The kinds of file each page loads: Swagger UI has a stylesheet, ReDoc styles itself.
LOADED_KINDS = {"/docs": {".js", ".css", ".png"}, "/redoc": {".js", ".png"}}
DOCS_PAGES = tuple(LOADED_KINDS)
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", DOCS_PAGES)
def test_docs_page_loads_only_files_of_this_service(service: RunningService, page: str) -> None:
    response = service.client.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    assert "://" not in response.text  # no CDN, no Google Fonts, no validator
    assert response.headers["content-security-policy"].startswith("default-src 'self';")
    urls = referenced_urls(response.text)
    assert {Path(url).suffix for url in urls} == LOADED_KINDS[page]
    for url in urls:
        assert url.startswith("/docs/assets/"), url
        asset = service.client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(CONTENT_TYPES[Path(url).suffix]), url
        assert asset.headers["cache-control"] == IMMUTABLE
        assert asset.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("page", DOCS_PAGES)
def test_docs_page_answers_head_like_get_without_the_body(
    service: RunningService, page: str
) -> None:
    got = service.client.get(page)

    head = service.client.head(page)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-security-policy"] == got.headers["content-security-policy"]


def test_docs_asset_answers_304_to_its_etag_still_immutable(service: RunningService) -> None:
    (url, *_) = referenced_urls(service.client.get("/redoc").text)
    etag = service.client.get(url).headers["etag"]

    again = service.client.get(url, headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.headers["cache-control"] == IMMUTABLE


def test_missing_docs_asset_is_a_json_404(service: RunningService) -> None:
    response = service.client.get("/docs/assets/swagger-ui-dist-0.0.0/swagger-ui-bundle.js")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"


def test_docs_and_their_files_need_no_key_when_keys_are_required(
    make_service: ServiceFactory,
) -> None:
    service = make_service(auth="on")

    assert service.client.get("/api/downloads").status_code == 401
    for page in DOCS_PAGES:
        response = service.client.get(page)
        assert response.status_code == 200
        for url in referenced_urls(response.text):
            assert service.client.get(url).status_code == 200, url
    assert service.client.get("/openapi.json").status_code == 200


def test_docs_pages_are_not_in_the_schema(service: RunningService) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]

    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
