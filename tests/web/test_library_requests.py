"""What a library of 60 videos costs a browser: opened in Chromium and shown whole ("Load more"
until the end, every thumbnail loaded), it makes no more than 70 requests (issue 11): the
page, its style, script and icon, one thumbnail per video and one request per further page.

One video is downloaded from the fixture site; the other 59 are copies of its files with
metadata sidecars of their own, which `rebuild` (library.py) adds to the store, as it would
after a lost database."""

import asyncio
import os
import shutil
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

from playwright.sync_api import Browser, expect

from offlinetube_api import media
from offlinetube_api.library import read_sidecar, rebuild, write_sidecar
from offlinetube_api.store import open_store
from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite

VIDEOS = 60
MAX_REQUESTS = 70
DEADLINE_MS = 30_000
# Tall enough for all 60 cards at once, so the lazily loaded thumbnails all load.
VIEWPORT = {"width": 1280, "height": 12_000}


def _copy_library(service: RunningService, original_id: str, copies: int) -> None:
    """`copies` more completed videos: the original's video, thumbnail and sidecar under new
    ids, titles and times, then `rebuild` adds them to the service's store."""
    settings = service.settings
    original = read_sidecar(media.sidecar_path(settings.downloads_dir, original_id))
    assert original is not None and original.filename and original.thumbnail_file
    video = settings.downloads_dir / original.filename
    thumbnail = settings.thumbnails_dir / original.thumbnail_file
    for number in range(1, copies + 1):
        task_id = str(uuid.uuid4())
        filename = f"{media.video_stem(task_id)}{video.suffix}"
        os.link(video, settings.downloads_dir / filename)
        shutil.copyfile(thumbnail, settings.thumbnails_dir / f"{task_id}{thumbnail.suffix}")
        copy = replace(
            original,
            id=task_id,
            filename=filename,
            title=f"Copy {number}",
            created_at=original.created_at - timedelta(minutes=number),
        )
        write_sidecar(settings.downloads_dir, copy)

    async def restore() -> list[str]:
        store = open_store(settings, announce=lambda: None)
        await store.open()
        try:
            report = await rebuild(
                store, downloads_dir=settings.downloads_dir, thumbnails_dir=settings.thumbnails_dir
            )
        finally:
            await store.close()
        return report.restored

    # In a thread of its own: Playwright's sync API runs an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        assert len(thread.submit(asyncio.run, restore()).result()) == copies


def test_a_library_of_60_videos_shown_whole_takes_at_most_70_requests(
    service: RunningService, site: FixtureSite, chromium_browser: Browser
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"))
    original = service.download_and_wait(url, title="The original")
    _copy_library(service, original["id"], VIDEOS - 1)
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(urlsplit(request.url).path))
    try:
        page.goto(service.base_url.rstrip("/") + "/library")
        cards = page.locator("#grid [data-task-id]")
        more = page.get_by_role("link", name="Load more")
        while more.count():
            shown = cards.count()
            more.click()  # replaced by the next cards (and a link again while more follow)
            expect(cards).not_to_have_count(shown, timeout=DEADLINE_MS)
        expect(cards).to_have_count(VIDEOS, timeout=DEADLINE_MS)
        page.wait_for_function(
            "() => [...document.querySelectorAll('#grid img')]"
            ".every(img => img.complete && img.naturalWidth > 0)",
            timeout=DEADLINE_MS,
        )
        page.wait_for_load_state("networkidle")
    finally:
        context.close()

    kinds = Counter(path.split("/")[2] if path.startswith("/api/") else path for path in requested)
    print(f"{len(requested)} requests: {dict(kinds)}")
    assert kinds["thumbnails"] == VIDEOS
    assert len(requested) <= MAX_REQUESTS, kinds
