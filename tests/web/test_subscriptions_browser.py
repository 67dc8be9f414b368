"""The Subscriptions page in headless Chromium, as a person uses it: follow a channel of the
fixture site through the form, see it listed with its first video, check now and see the new
one appear, open it in the player, pause and resume, and delete it with its videos; a bad URL
answered in words; and with keys required, a read-only key sees no button that changes
anything, and the service refuses such a request made anyway."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from offlinetube_api.security.keys import Scope
from tests.fixtures.channel import ChannelVideo
from tests.fixtures.keys import create_key
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

DEADLINE_MS = 30_000
NOW = datetime.now(UTC)


@pytest.fixture
def page(chromium_browser: Browser) -> Iterator[Page]:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def publish(site: FixtureSite, channel: str, title: str, at: datetime) -> None:
    page = site.page_url(video=site.url("/media/clip.mp4"), title=title)
    site.channels.setdefault(channel, []).append(
        ChannelVideo(f"{channel}-{title}", title, page, at)
    )


def new_channel(site: FixtureSite, titles: list[str]) -> str:
    """A channel of videos published a day apart, the first title the newest; its name."""
    name = uuid.uuid4().hex
    for days, title in enumerate(titles):
        publish(site, name, title, NOW - timedelta(days=days))
    return name


def subscribe_through_the_form(page: Page, site: FixtureSite, channel: str, name: str) -> Locator:
    """Follows `channel` with the newest 1 of its videos; the new subscription's card."""
    page.get_by_role("textbox", name="Subscription URL").fill(site.channel_url(channel))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Download", exact=True).select_option("newest")
    page.get_by_label("Newest how many").fill("1")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("#subscribe-result")).to_contain_text(f"Subscribed to {name}")
    card = page.locator("#subscription-list [data-subscription-id]")
    expect(card).to_have_count(1)
    return card


def videos_of(card: Locator) -> Locator:
    return card.locator(".recent [data-task-id]")


@pytest.mark.timeout(300)  # three listings and two downloads, each a process of its own
def test_a_person_follows_a_channel_checks_it_pauses_it_and_deletes_it(
    service: RunningService, site: FixtureSite, page: Page, screenshots: Path
) -> None:
    base = service.base_url.rstrip("/")
    channel = new_channel(site, ["Older one", "Oldest one"])
    page.goto(f"{base}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Subscriptions").click()
    expect(page).to_have_url(f"{base}/subscriptions")

    card = subscribe_through_the_form(page, site, channel, "Fixture channel")
    subscription_id = card.get_attribute("data-subscription-id")
    # Its first check, shown without a reload: the newest video only (back catalogue 1).
    expect(card.locator("[data-field=last-check]")).to_contain_text(
        "2 found, 2 new, 1 queued", timeout=DEADLINE_MS
    )
    expect(videos_of(card)).to_have_count(1)

    publish(site, channel, "Brand new", NOW + timedelta(hours=1))
    card.get_by_role("button", name="Check now").click()
    expect(card).to_contain_text("Checking now.")
    expect(videos_of(card)).to_have_count(2, timeout=DEADLINE_MS)
    expect(card.locator("[data-field=last-check]")).to_contain_text("3 found, 1 new, 1 queued")
    # Titled once downloaded (its address until then), without a reload.
    expect(videos_of(card).first).to_have_attribute("data-status", "completed", timeout=DEADLINE_MS)
    expect(videos_of(card).first).to_contain_text("Brand new")
    page.screenshot(path=screenshots / "subscriptions.png", full_page=True)

    card.get_by_role("button", name="Pause").click()
    expect(card).to_have_attribute("data-paused", "true")
    expect(card.locator("[data-field=schedule]")).to_contain_text("paused")
    expect(card.get_by_role("button", name="Check now")).to_have_count(0)
    assert service.client.get(f"/api/subscriptions/{subscription_id}").json()["paused"] is True
    card.get_by_role("button", name="Resume").click()
    expect(card).to_have_attribute("data-paused", "false")
    assert service.client.get(f"/api/subscriptions/{subscription_id}").json()["paused"] is False

    task_ids = [item.get_attribute("data-task-id") for item in videos_of(card).all()]
    videos_of(card).first.get_by_role("link").click()
    expect(page).to_have_url(f"{base}/videos/{task_ids[0]}")
    expect(page.locator("video")).to_be_visible()
    page.go_back()

    card = page.locator(f'[data-subscription-id="{subscription_id}"]')
    card.get_by_text("Delete…").click()
    card.get_by_label("Also delete its videos").check()
    card.get_by_role("button", name="Delete for good").click()
    expect(page.locator("#subscription-list")).to_contain_text("2 of its videos deleted with it")
    expect(page.locator("[data-subscription-id]")).to_have_count(0)
    assert service.client.get(f"/api/subscriptions/{subscription_id}").status_code == 404
    for task_id in task_ids:
        assert service.client.get(f"/api/downloads/{task_id}").status_code == 404


@pytest.mark.stores("sqlite")  # the form's words: no store does anything of its own here
def test_a_bad_subscription_url_is_refused_in_words(service: RunningService, page: Page) -> None:
    page.goto(service.base_url.rstrip("/") + "/subscriptions")
    page.get_by_role("textbox", name="Subscription URL").fill("ftp://example.com/channel")
    page.get_by_role("button", name="Subscribe").click()

    result = page.locator("#subscribe-result [role=alert]")
    expect(result).to_contain_text(
        "Subscription URL: url must be an absolute http:// or https:// address"
    )
    expect(page.locator("[data-subscription-id]")).to_have_count(0)
    assert service.client.get("/api/subscriptions").json() == []


def sign_in(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/subscriptions")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/subscriptions", timeout=DEADLINE_MS)


def post_from_the_page(page: Page, path: str, **fields: str) -> dict[str, Any]:
    """A form post made by the page's own script, with the session's CSRF token, as a
    tampered page would: its status and text."""
    answer: dict[str, Any] = page.evaluate(
        """async ([path, fields]) => {
            const token = document.querySelector("input[name=csrf_token]").value;
            const body = new URLSearchParams({...fields, csrf_token: token});
            const headers = {"HX-Request": "true"};
            const response = await fetch(path, {method: "POST", body, headers});
            return {status: response.status, text: await response.text()};
        }""",
        [path, fields],
    )
    return answer


@pytest.mark.stores("sqlite")  # the scopes: the same check in both modes
def test_a_read_only_key_sees_no_change_buttons_and_is_refused(
    make_service: ServiceFactory, site: FixtureSite, page: Page
) -> None:
    service = make_service(auth="on")
    base = service.base_url.rstrip("/")
    admin = {"X-API-Key": create_key(service.settings, Scope.ADMIN)}
    body = {"url": site.channel_url(new_channel(site, ["Only one"])), "name": "Followed"}
    created = service.client.post("/api/subscriptions", json=body, headers=admin).json()
    path = f"/api/subscriptions/{created['id']}"

    sign_in(page, base, create_key(service.settings, Scope.READ))
    card = page.locator(f'[data-subscription-id="{created["id"]}"]')
    expect(card).to_contain_text("Followed")
    expect(page.get_by_role("textbox", name="Subscription URL")).to_have_count(0)
    expect(page.get_by_role("button")).to_have_text(["Sign out"])  # no other button
    expect(card.get_by_role("link", name="Edit")).to_have_count(0)
    refused = post_from_the_page(page, f"/app/subscriptions/{created['id']}/pause")

    assert refused["status"] == 403
    assert "to change subscriptions you need one of the download scope" in refused["text"]
    assert service.client.get(path, headers=admin).json()["paused"] is False


@pytest.mark.stores("sqlite")  # the scopes: the same check in both modes
def test_a_download_key_deletes_a_subscription_but_not_its_videos(
    make_service: ServiceFactory, site: FixtureSite, page: Page
) -> None:
    service = make_service(auth="on")
    base = service.base_url.rstrip("/")
    admin = {"X-API-Key": create_key(service.settings, Scope.ADMIN)}
    body = {"url": site.channel_url(new_channel(site, ["Only one"])), "name": "Followed"}
    created = service.client.post("/api/subscriptions", json=body, headers=admin).json()
    path = f"/api/subscriptions/{created['id']}"

    sign_in(page, base, create_key(service.settings, Scope.DOWNLOAD))
    card = page.locator(f'[data-subscription-id="{created["id"]}"]')
    card.get_by_text("Delete…").click()
    expect(card).to_contain_text("Deleting its videos too needs an admin key.")
    expect(card.get_by_label("Also delete its videos")).to_have_count(0)
    refused = post_from_the_page(
        page, f"/app/subscriptions/{created['id']}/delete", delete_files="true"
    )
    assert refused["status"] == 403
    assert (
        "to delete the videos of a subscription you need one of the admin scope" in refused["text"]
    )
    assert service.client.get(path, headers=admin).status_code == 200

    card.get_by_role("button", name="Delete for good").click()
    expect(page.locator("#subscription-list")).to_contain_text("its videos stay in the library")
    assert service.client.get(path, headers=admin).status_code == 404
