"""The web app on a phone: its manifest and icons (what makes it installable, checked by
Chromium itself), the share target a link shared to the installed app lands on, and every
screen at 360 px wide without horizontal scrolling."""

import io
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from offlinetube_api.security.keys import Scope
from tests.fixtures.keys import create_key
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

pytestmark = pytest.mark.stores("sqlite")

DEADLINE_MS = 30_000
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(chromium_browser: Browser) -> Iterator[Page]:
    context = chromium_browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def tasks(service: RunningService) -> list[dict[str, str]]:
    listing: list[dict[str, str]] = service.client.get("/api/downloads").json()
    return listing


def test_the_manifest_names_the_app_its_icons_and_share_target(service: RunningService) -> None:
    response = service.client.get("/manifest.webmanifest")
    manifest = response.json()

    assert response.headers["content-type"] == "application/manifest+json"
    assert '<link rel="manifest" href="/manifest.webmanifest">' in service.client.get("/").text
    assert (manifest["name"], manifest["start_url"], manifest["display"]) == (
        "OfflineTube",
        "/",
        "standalone",
    )
    assert manifest["share_target"]["action"] == "/share"
    assert manifest["share_target"]["params"]["url"] == "url"
    for icon in manifest["icons"]:
        fetched = service.client.get(icon["src"])
        assert fetched.status_code == 200, icon
        assert fetched.headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            size = Image.open(io.BytesIO(fetched.content)).size
            assert f"{size[0]}x{size[1]}" == icon["sizes"]


def test_a_link_shared_to_the_app_starts_its_download(
    service: RunningService, site: FixtureSite
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"))
    shared = f"/share?title=Clip&text={quote(f'Look at this: {url}')}"

    # Opened by the browser itself, as a share is: the download starts.
    started = service.client.get(shared, headers={"Sec-Fetch-Site": "none"})
    # Sent by another site's page: the form is filled in, nothing starts.
    linked = service.client.get(shared, headers={"Sec-Fetch-Site": "cross-site"})
    nothing = service.client.get("/share?text=hello", headers={"Sec-Fetch-Site": "none"})

    assert (started.status_code, started.headers["location"]) == (303, "/")
    assert [task["url"] for task in tasks(service)] == [url]
    assert linked.status_code == 303
    form = service.client.get(linked.headers["location"]).text
    assert f'value="{url}"' in form.replace("&amp;", "&")
    assert (nothing.status_code, nothing.headers["location"]) == (303, "/")
    assert len(tasks(service)) == 1


def test_chromium_installs_the_app_and_shares_to_it(
    service: RunningService, site: FixtureSite, phone: Page
) -> None:
    base = service.base_url.rstrip("/")
    phone.goto(f"{base}/")
    cdp = phone.context.new_cdp_session(phone)
    parsed = cdp.send("Page.getAppManifest")
    url = site.page_url(video=site.url("/media/clip.mp4"), title="Shared clip")

    phone.goto(f"{base}/share?url={quote(url)}")

    assert parsed["errors"] == [], parsed["errors"]
    assert parsed["url"] == f"{base}/manifest.webmanifest"
    expect(phone).to_have_url(f"{base}/")
    card = phone.locator("#queue-list [data-task-id]")
    expect(card).to_have_count(1, timeout=DEADLINE_MS)
    assert [task["url"] for task in tasks(service)] == [url]


def test_every_screen_fits_a_360_px_screen(
    service: RunningService, site: FixtureSite, phone: Page, screenshots: Path
) -> None:
    task = service.download_and_wait(
        site.page_url(
            video=site.url("/media/clip.mp4"),
            thumb=site.url("/media/thumb.jpg"),
            title="A title long enough to wrap on a phone " * 3,
        )
    )
    base = service.base_url.rstrip("/")
    site.channels["long"] = []  # listed, and empty: its card still shows every fact
    followed = {"url": site.channel_url("long") + "?" + "x" * 200, "name": "A long name " * 6}
    subscription = service.client.post("/api/subscriptions", json=followed).json()

    for name, path in [
        ("add", "/"),
        ("library", "/library"),
        ("player", f"/videos/{task['id']}"),
        ("subscriptions", "/subscriptions"),
        ("subscription-edit", f"/subscriptions/{subscription['id']}/edit"),
        ("system", "/system"),
        ("sign-in", "/sign-in"),
    ]:
        phone.goto(base + path)
        expect(phone.locator("main")).to_be_visible()
        phone.screenshot(path=screenshots / f"phone-{name}.png", full_page=True)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"


def test_a_share_while_keys_are_required_goes_through_the_sign_in(
    make_service: ServiceFactory, site: FixtureSite, phone: Page
) -> None:
    service = make_service(auth="on")
    base = service.base_url.rstrip("/")
    key = create_key(service.settings, Scope.DOWNLOAD)
    url = site.page_url(video=site.url("/media/clip.mp4"), title="Shared, signed in")

    phone.goto(f"{base}/share?url={quote(url)}")
    expect(phone).to_have_url(re.compile(r"/sign-in\?next=%2Fshare%3Furl%3D"))
    phone.get_by_label("API key").fill(key)
    phone.get_by_role("button", name="Sign in").click()

    # Back from the sign-in, a page of the app's own: the download starts.
    expect(phone).to_have_url(f"{base}/", timeout=DEADLINE_MS)
    expect(phone.locator("#queue-list [data-task-id]")).to_have_count(1, timeout=DEADLINE_MS)
    listing = service.client.get("/api/downloads", headers={"X-API-Key": key}).json()
    assert [task["url"] for task in listing] == [url]
