"""In headless Chromium with every request off the service aborted, `/docs` and `/redoc` still
render the API's operations, and Swagger UI's "Try it out" calls the API: everything the pages
load comes from the service, and their Content-Security-Policy lets nothing else be asked for
(ReDoc's logo from cdn.redoc.ly is never requested)."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import Browser, chromium
from tests.fixtures.service import RunningService

RENDER_DEADLINE_MS = 20_000


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


def origin(service: RunningService) -> str:
    return service.base_url.rstrip("/")


def test_swagger_ui_renders_offline(service: RunningService, browser: Browser) -> None:
    page, aborted = browser.open_offline(origin(service), "/docs")

    operation = page.locator(".opblock-post", has=page.locator('[data-path="/api/download"]'))
    expect(operation).to_be_visible(timeout=RENDER_DEADLINE_MS)
    expect(page.locator('[id$="-start_download"]')).to_be_visible()
    assert aborted == []


def test_redoc_renders_offline(service: RunningService, browser: Browser) -> None:
    page, aborted = browser.open_offline(origin(service), "/redoc")

    operation = page.locator('[data-section-id="operation/start_download"]')
    expect(operation).to_be_visible(timeout=RENDER_DEADLINE_MS)
    expect(operation).to_contain_text("/api/download")
    assert aborted == []


def test_swagger_ui_tries_an_operation_offline(service: RunningService, browser: Browser) -> None:
    page, aborted = browser.open_offline(origin(service), "/docs")

    page.locator('[id$="-get_health"] .opblock-summary').click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()

    status = page.locator(".live-responses-table tbody .response-col_status")
    expect(status).to_have_text("200", timeout=RENDER_DEADLINE_MS)
    assert aborted == []
