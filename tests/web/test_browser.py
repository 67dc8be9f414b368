"""The web app in headless Chromium, as a person uses it: add a video of the fixture site
through the form and watch its progress bar reach the end, live, without a reload; see its
thumbnail in the library and find it by a word of its title; play it and seek (the server
answers ranges, 206); remove it and see it go. Screenshots of each screen land in the
`screenshots` folder (see conftest.py)."""

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

DEADLINE_MS = 30_000
TITLE = "Lighthouse at dusk"
# About 4 s for the fixture clip: long enough for the bar to be seen between 0 and 100.
SLOW_CLIP = "/slow/40000/clip.mp4"


@pytest.fixture
def page(chromium_browser: Browser) -> Iterator[Page]:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def add_through_the_form(page: Page, service: RunningService, site: FixtureSite) -> str:
    """The id of the task the form made."""
    page.goto(service.base_url.rstrip("/") + "/")
    url = site.page_url(video=site.url(SLOW_CLIP), thumb=site.url("/media/thumb.jpg"), title=TITLE)
    page.get_by_role("textbox", name="Video URL").fill(url)
    page.get_by_role("button", name="Download").click()
    expect(page.locator("#add-result")).to_contain_text(f"Queued: {url}", timeout=DEADLINE_MS)
    card = page.locator("#queue-list [data-task-id]")
    expect(card).to_have_count(1, timeout=DEADLINE_MS)
    task_id = card.get_attribute("data-task-id")
    assert task_id
    return task_id


def find_in_the_library(page: Page, base_url: str, task_id: str, screenshots: Path) -> None:
    page.goto(f"{base_url}/library")
    card = page.locator(f'#grid [data-task-id="{task_id}"]')
    expect(card).to_have_attribute("data-status", "completed")
    thumbnail = card.locator("img")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=thumbnail.element_handle(),
        timeout=DEADLINE_MS,
    )
    page.screenshot(path=screenshots / "library.png", full_page=True)
    search = page.get_by_role("searchbox", name="Search titles")
    search.fill("nothing-of-the-kind")
    expect(card).to_have_count(0, timeout=DEADLINE_MS)
    expect(page.locator("#grid")).to_contain_text("No video matches.")
    search.fill("DUSK")  # a word of the title, in another case
    expect(card).to_have_count(1, timeout=DEADLINE_MS)
    expect(page.locator("#grid [data-task-id]")).to_have_count(1)
    page.get_by_label("Status").select_option("failed")
    expect(card).to_have_count(0, timeout=DEADLINE_MS)
    page.get_by_label("Status").select_option("completed")
    page.get_by_label("Order").select_option("oldest")
    expect(card).to_have_count(1, timeout=DEADLINE_MS)


def play_and_seek(page: Page, screenshots: Path) -> None:
    """From the library's card to the player: the video loads, and seeking moves it."""
    ranges: list[int] = []
    page.on(
        "response",
        lambda response: ranges.append(response.status) if "/api/stream/" in response.url else None,
    )
    page.locator("#grid [data-task-id] a").first.click()
    page.wait_for_url("**/videos/*", timeout=DEADLINE_MS)
    video = page.locator("video")
    expect(video).to_be_visible()
    page.wait_for_function("v => v.readyState >= 1", arg=video.element_handle())
    assert video.evaluate("v => v.currentTime") == 0

    video.evaluate("v => { v.currentTime = 2; }")

    page.wait_for_function(
        "v => !v.seeking && v.currentTime >= 1.9", arg=video.element_handle(), timeout=DEADLINE_MS
    )
    assert 206 in ranges
    page.screenshot(path=screenshots / "player.png", full_page=True)


def remove_from_the_player(page: Page, task_id: str) -> None:
    page.get_by_text("Remove…").click()
    page.get_by_role("button", name="Remove for good").click()
    page.wait_for_url("**/library", timeout=DEADLINE_MS)
    expect(page.locator("#grid")).to_be_visible()
    expect(page.locator(f'[data-task-id="{task_id}"]')).to_have_count(0)


def test_a_person_adds_follows_finds_plays_and_removes_a_video(
    service: RunningService, site: FixtureSite, page: Page, screenshots: Path
) -> None:
    task_id = add_through_the_form(page, service, site)
    page.evaluate("window.notReloaded = true")
    card = page.locator(f'[data-task-id="{task_id}"]')
    bar = card.locator("progress")

    page.wait_for_function(
        "bar => bar.value > 0 && bar.value < 100", arg=bar.element_handle(), timeout=DEADLINE_MS
    )
    page.screenshot(path=screenshots / "queue.png", full_page=True)
    expect(card).to_have_attribute("data-status", "completed", timeout=DEADLINE_MS)

    assert bar.evaluate("bar => bar.value") == 100
    expect(card.locator("[data-field=title]")).to_have_text(TITLE)
    expect(card.get_by_role("link", name="Play")).to_be_visible()
    expect(card.get_by_role("button", name="Cancel")).to_be_hidden()
    assert page.evaluate("window.notReloaded") is True

    find_in_the_library(page, service.base_url.rstrip("/"), task_id, screenshots)
    play_and_seek(page, screenshots)
    remove_from_the_player(page, task_id)
    assert service.client.get(f"/api/downloads/{task_id}").status_code == 404


@pytest.mark.stores("sqlite")  # the layout only: no store does anything of its own here
def test_a_phone_wide_screen_shows_the_form_and_the_grid_without_scrolling_sideways(
    service: RunningService, site: FixtureSite, chromium_browser: Browser, screenshots: Path
) -> None:
    long_title = "A rather long title of a video " * 4
    url = site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"))
    task = service.download_and_wait(url, title=long_title.strip())
    context = chromium_browser.new_context(viewport={"width": 360, "height": 740})
    phone = context.new_page()
    base_url = service.base_url.rstrip("/")
    try:
        phone.goto(f"{base_url}/")
        expect(phone.get_by_role("textbox", name="Video URL")).to_be_in_viewport()
        phone.get_by_role("textbox", name="Video URL").fill(f"{url}&padding={'x' * 300}")
        phone.get_by_role("button", name="Download").click()
        expect(phone.locator("#add-result")).to_contain_text("Queued: ")  # a long line
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        phone.screenshot(path=screenshots / "downloads-360.png", full_page=True)

        phone.goto(f"{base_url}/library")
        card = phone.locator(f'[data-task-id="{task["id"]}"]')
        expect(card).to_be_visible()
        assert card.evaluate("card => card.getBoundingClientRect().right") <= 360
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        phone.screenshot(path=screenshots / "library-360.png", full_page=True)
    finally:
        context.close()


@pytest.mark.stores("sqlite")  # the page's reconnection: the stream cap is the same in both modes
def test_a_refused_event_stream_is_linked_again_and_the_queue_stays_live(
    make_service: ServiceFactory, site: FixtureSite, page: Page
) -> None:
    service = make_service(max_event_streams_per_client=1)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    with service.client.stream("GET", "/api/events") as held:  # the one stream allowed
        assert held.status_code == 200
        page.goto(service.base_url.rstrip("/") + "/")
        expect(page.locator("#live")).to_have_text("Reconnecting to live updates…")
    # Linked again after its pause (a fresh stream starts from the unfinished tasks).
    expect(page.locator("#live")).to_be_hidden(timeout=DEADLINE_MS)
    task = service.download(site.page_url(video=site.url("/media/clip.mp4")))

    card = page.locator(f'[data-task-id="{task["id"]}"]')
    expect(card).to_have_attribute("data-status", "completed", timeout=DEADLINE_MS)
    assert any(url.endswith("/queue/events-link") for url in asked)


@pytest.mark.stores("sqlite")  # the page's words; the reason comes from the API in both modes
def test_the_live_queue_says_why_a_task_waits_for_its_site(
    make_service: ServiceFactory, site: FixtureSite, page: Page
) -> None:
    service = make_service(cooldown_seconds=60, retry_backoff_seconds=0.05)
    page.goto(service.base_url.rstrip("/") + "/")
    expect(page.locator("#live")).to_be_hidden(timeout=DEADLINE_MS)
    limited = site.page_url(video=site.url("/media/clip.mp4")).replace(
        "/watch?", f"/flaky/waiting-{uuid.uuid4().hex}/1?status=429&"
    )
    task = service.download(limited)

    card = page.locator(f'[data-task-id="{task["id"]}"]')
    expect(card.locator('[data-field="waiting"]')).to_contain_text(
        "Waiting: its site is cooling down after a rate limit, until ", timeout=DEADLINE_MS
    )
    until = datetime.fromisoformat(service.task(task["id"])["waiting_until"])
    expect(card.locator('[data-field="waiting"]')).to_have_text(
        f"Waiting: its site is cooling down after a rate limit, until {until:%H:%M:%S} UTC"
    )
