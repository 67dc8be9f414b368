"""Keys in the web app, in headless Chromium as a person uses them: sign in with a key while keys
are required, use a page, sign out and find the pages locked again; as an admin, make a key on
the System page (shown once, working on the API at once) and revoke it (refused at once)."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from offlinetube_api.security.keys import Scope
from offlinetube_api.web.session_cookie import SESSION_COOKIE
from tests.fixtures.keys import create_key
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

pytestmark = pytest.mark.stores("sqlite")

DEADLINE_MS = 15_000


@pytest.fixture
def page(chromium_browser: Browser) -> Iterator[Page]:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def sign_in(page: Page, service: RunningService, key: str, path: str) -> None:
    page.goto(service.base_url.rstrip("/") + path)
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(service.base_url.rstrip("/") + path, timeout=DEADLINE_MS)


def test_sign_in_add_a_video_and_sign_out(
    make_service: ServiceFactory, site: FixtureSite, page: Page, screenshots: Path
) -> None:
    service = make_service(auth="on")
    base = service.base_url.rstrip("/")
    key = create_key(service.settings, Scope.DOWNLOAD, name="laptop")
    page.goto(f"{base}/")
    page.screenshot(path=screenshots / "sign-in.png", full_page=True)

    sign_in(page, service, key, "/")
    url = site.page_url(video=site.url("/media/clip.mp4"), title="Signed in")
    page.get_by_role("textbox", name="Video URL").fill(url)
    page.get_by_role("button", name="Download").click()
    # htmx's post carried the session's CSRF token: refused, it would say so here.
    expect(page.locator("#add-result")).to_contain_text(f"Queued: {url}", timeout=DEADLINE_MS)
    expect(page.locator("header")).to_contain_text("download key")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/sign-in", timeout=DEADLINE_MS)
    assert not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/sign-in?next=%2F")


def test_an_admin_creates_and_revokes_a_key_on_the_system_page(
    make_service: ServiceFactory, page: Page, screenshots: Path
) -> None:
    service = make_service(auth="on")
    admin_key = create_key(service.settings, Scope.ADMIN, name="me")
    sign_in(page, service, admin_key, "/system")
    expect(page.get_by_role("heading", name="Health")).to_be_visible()
    page.get_by_label("Name").fill("laptop <b>")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create key").click()
    new_key = page.locator("#new-key").inner_text(timeout=DEADLINE_MS)
    key_id = new_key.split("_")[1]
    auth = {"Authorization": f"Bearer {new_key}"}
    assert service.client.get("/api/downloads", headers=auth).status_code == 200

    page.get_by_role("link", name="Back to System").click()
    row = page.locator(f'[data-key-id="{key_id}"]')
    expect(row).to_contain_text("laptop <b>")  # the name shown as text, never as markup
    page.screenshot(path=screenshots / "system.png", full_page=True)
    row.get_by_role("button", name=f"Revoke {key_id}").click()
    expect(row).to_have_attribute("data-status", "revoked", timeout=DEADLINE_MS)
    assert service.client.get("/api/downloads", headers=auth).status_code == 401
