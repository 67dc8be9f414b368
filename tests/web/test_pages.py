"""The web app's pages over plain HTTP: HTML under the app's Content-Security-Policy, the Add
form's refusals in words with the API's own status, and the pages locked while keys are
required. On SQLite alone: the pages call the same service objects the API's tests drive on
both stores, and nothing here reads the store in a way of its own."""

import html
import re
from urllib.parse import urlencode

import pytest

from offlinetube_api.web.routes import library
from offlinetube_api.web.templating import APP_CSP
from tests.fixtures.page_assets import referenced_urls
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

pytestmark = pytest.mark.stores("sqlite")

HTMX = {"HX-Request": "true"}


def add(service: RunningService, url: str, **fields: str) -> tuple[int, str]:
    response = service.client.post("/app/downloads", data={"url": url, **fields}, headers=HTMX)
    return response.status_code, response.text


def test_home_page_is_html_under_the_app_csp(service: RunningService) -> None:
    response = service.client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert 'data-events-url="/api/events"' in response.text
    for link in ('href="/library"', 'href="/docs"', 'href="/redoc"'):
        assert link in response.text
    assert "/openapi.json" in service.client.get("/docs").text  # the docs it links to


def test_the_queue_gets_a_fresh_link_to_the_event_stream(service: RunningService) -> None:
    response = service.client.get("/queue/events-link")

    assert (response.status_code, response.json()) == (200, {"url": "/api/events"})


def test_static_files_are_served_and_vendored_ones_kept_a_year(service: RunningService) -> None:
    page = service.client.get("/").text
    htmx = page.split('<script src="', 1)[1].split('"', 1)[0]

    assert htmx.startswith("/static/vendor/htmx.org-2.0.")
    vendored = service.client.get(htmx)
    assert vendored.status_code == 200
    assert vendored.headers["cache-control"] == "public, max-age=31536000, immutable"
    for path in ("/static/app.css", "/static/queue.js"):
        assert service.client.get(path).status_code == 200, path


def test_a_bad_url_is_refused_in_words(service: RunningService) -> None:
    status, text = add(service, "ftp://example.com/video")

    assert status == 422
    assert 'role="alert"' in text
    assert "Video URL: url must be an absolute http:// or https:// address" in text


def test_a_bad_subtitle_language_is_named(service: RunningService, site: FixtureSite) -> None:
    status, text = add(service, site.page_url(video=site.url("/media/clip.mp4")), subtitles="en x!")

    assert status == 422
    assert "Subtitles: &#39;x!&#39; is not a language code such as en or pt-BR" in text


def test_a_plain_form_post_gets_a_page_or_goes_back_to_the_queue(
    service: RunningService, site: FixtureSite
) -> None:
    refused = service.client.post("/app/downloads", data={"url": "nonsense"})
    accepted = service.client.post(
        "/app/downloads", data={"url": site.page_url(video=site.url("/media/clip.mp4"))}
    )

    assert refused.status_code == 422
    assert refused.text.startswith("<!doctype html>")
    assert "Video URL: url must be" in refused.text
    assert (accepted.status_code, accepted.headers["location"]) == (303, "/")


def test_the_rate_limit_is_refused_in_words(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(rate_limit_per_minute=1)
    url = site.page_url(video=site.url("/media/clip.mp4"))

    assert add(service, url)[0] == 200
    status, text = add(service, url, quality="720")

    assert status == 429
    assert "Too many downloads started; try again in" in text


def test_a_full_queue_is_refused_in_words(make_service: ServiceFactory, site: FixtureSite) -> None:
    service = make_service(max_queued=1, max_concurrent_downloads=1)
    slow = site.page_url(video=site.url("/slow/20000/clip.mp4"))
    running = service.download(slow)
    service.wait_for_status(running["id"], "downloading")
    service.download(slow)  # waits: the queue is full

    status, text = add(service, site.page_url(video=site.url("/media/clip.webm")))

    assert status == 503
    assert "The queue is full (1 tasks waiting); try again later" in text


def test_site_text_is_escaped_in_the_queue(service: RunningService, site: FixtureSite) -> None:
    task = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")), title="<b>x</b>")

    page = service.client.get("/").text

    assert f'data-task-id="{task["id"]}"' in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


def test_cancel_and_retry_answer_in_words(service: RunningService, site: FixtureSite) -> None:
    task = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")))
    cancel = f"/app/downloads/{task['id']}/cancel"
    retry = f"/app/downloads/{task['id']}/retry"

    cancelled = service.client.post(cancel, headers=HTMX)
    again = service.client.post(cancel, headers=HTMX)
    retried = service.client.post(retry, headers=HTMX)

    assert cancelled.status_code == 200 and "Cancelled: " in cancelled.text
    assert again.status_code == 409 and "already cancelled; nothing to cancel" in again.text
    assert retried.status_code == 200 and "Queued again: " in retried.text
    assert service.task(task["id"])["status"] in ("queued", "downloading")


def test_pages_are_locked_while_keys_are_required(make_service: ServiceFactory) -> None:
    service = make_service(auth="on")

    page = service.client.get("/?url=https%3A%2F%2Fexample.com%2Fv")
    post = service.client.post("/app/downloads", data={"url": "https://example.com/v"})
    fragment = service.client.post("/app/downloads", data={"url": "x"}, headers=HTMX)

    # To the sign-in form, which comes back to the page (with its query) after.
    assert page.status_code == 303
    assert page.headers["location"] == (
        "/sign-in?next=%2F%3Furl%3Dhttps%253A%252F%252Fexample.com%252Fv"
    )
    assert (post.status_code, post.headers["location"]) == (303, "/sign-in?next=%2F")
    assert (fragment.status_code, fragment.headers["hx-redirect"]) == (401, "/sign-in?next=%2F")
    sign_in = service.client.get(page.headers["location"])
    assert sign_in.status_code == 200
    assert 'name="next" value="/?url=https%3A%2F%2Fexample.com%2Fv"' in sign_in.text
    assert service.client.get("/static/app.css").status_code == 200  # no library content


def test_library_pages_by_cursor_in_either_order(
    service: RunningService, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library, "PAGE_SIZE", 2)
    ids = [service.download(site.url("/plain"), title=f"Plain {n}")["id"] for n in range(3)]
    for task_id in ids:
        service.wait_for_status(task_id, "failed")

    def cards(path: str, **params: str) -> tuple[list[str], str | None]:
        response = service.client.get(path, params=params or None)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == APP_CSP
        found = re.findall(r'data-task-id="([^"]+)" data-status="failed"', response.text)
        more = re.search(r'hx-get="(/library/items\?[^"]+)"', response.text)
        return found, html.unescape(more[1]) if more else None

    newest, more = cards("/library", status="failed")
    assert newest == ids[:0:-1] and more is not None and "status=failed" in more
    assert cards(more) == ([ids[0]], None)
    oldest, more = cards("/library", status="failed", order="oldest")
    assert oldest == ids[:2] and more is not None
    assert cards(more) == ([ids[2]], None)
    assert cards("/library/items", status="failed", q="plain 1") == ([ids[1]], None)
    assert cards("/library")[0] == []  # completed ones only, unless asked


def test_player_shows_the_video_its_subtitles_and_its_playlist_in_order(
    service: RunningService, site: FixtureSite
) -> None:
    query = urlencode(
        {"video": site.url("/media/clip.mp4"), "lang": "en", "subs": site.url("/media/subs.en.vtt")}
    )
    subtitled = service.download_and_wait(site.url(f"/html5?{query}"), subtitles=["en"])
    videos = [site.url("/media/clip.mp4"), site.url("/media/clip.webm")]
    first = service.download(site.page_url(video=videos, title="Two clips"))
    service.wait_for_status(first["id"], "completed", "failed")

    page = service.client.get(f"/videos/{subtitled['id']}")
    listed = service.client.get(f"/videos/{first['id']}").text

    assert page.status_code == 200
    assert page.headers["content-security-policy"] == APP_CSP
    assert f'src="{subtitled["stream_url"]}"' in page.text
    assert f'poster="{subtitled["thumbnail"]}"' in page.text or subtitled["thumbnail"] is None
    track = subtitled["subtitles"][0]["url"]
    assert f'<track kind="subtitles" srclang="en" label="en" src="{track}" default>' in page.text
    assert f'href="{subtitled["stream_url"]}?download=true" download>Save file</a>' in page.text
    members = service.client.get(f"/api/playlists/{first['id']}").json()
    order = re.findall(r'<li data-task-id="([^"]+)"', listed)
    assert order == [task["id"] for task in members] and len(order) == 2
    assert f'href="/videos/{first["id"]}" aria-current="page"' in listed


def test_a_page_asked_with_a_query_it_does_not_take_answers_a_page_in_words(
    service: RunningService,
) -> None:
    page = service.client.get("/library", params={"status": "bogus"})
    fragment = service.client.get(
        "/library/items", params={"order": "sideways"}, headers={"HX-Request": "true"}
    )
    api = service.client.get("/api/downloads", params={"status": "bogus"})

    assert page.status_code == 422 and page.text.startswith("<!doctype html>")
    assert "This address asks for what the page does not know (status: Input should be" in (
        page.text
    )
    assert page.text.count("status: Input should be") == 1  # read by two of its dependencies
    assert 'href="/"' in page.text
    assert fragment.status_code == 422 and 'role="alert"' in fragment.text
    assert "order: Input should be" in fragment.text and "<!doctype" not in fragment.text
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["query", "status"]


def test_player_of_no_video_is_an_html_404(service: RunningService) -> None:
    for task_id in ("0f8fad5b-d9cb-469f-a165-70867728950e", "not-an-id"):
        response = service.client.get(f"/videos/{task_id}")
        assert response.status_code == 404
        assert "No video has this address" in response.text


def test_remove_goes_back_to_the_library(service: RunningService, site: FixtureSite) -> None:
    kept = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    gone = service.download_and_wait(site.page_url(video=site.url("/media/clip.webm")))

    by_htmx = service.client.post(f"/app/downloads/{kept['id']}/remove", headers=HTMX)
    plain = service.client.post(f"/app/downloads/{gone['id']}/remove")
    again = service.client.post(f"/app/downloads/{gone['id']}/remove", headers=HTMX)

    assert (by_htmx.status_code, by_htmx.headers["hx-redirect"]) == (200, "/library")
    assert (plain.status_code, plain.headers["location"]) == (303, "/library")
    assert again.status_code == 404 and "not found" in again.text
    for task in (kept, gone):
        assert service.client.get(f"/api/downloads/{task['id']}").status_code == 404
    assert list(service.settings.downloads_dir.glob("video__*")) == []


def test_a_first_load_weighs_under_150_kb(service: RunningService) -> None:
    for path in ("/", "/library"):
        page = service.client.get(path)
        urls = referenced_urls(page.text)
        assets = [service.client.get(url) for url in urls]

        assert all(asset.status_code == 200 for asset in assets), urls
        weight = len(page.content) + sum(len(asset.content) for asset in assets)
        assert weight < 150_000, (path, weight)


def test_library_shows_the_remote_thumbnail_when_none_was_stored(
    service: RunningService, site: FixtureSite
) -> None:
    remote = site.url("/media/missing.jpg")
    unstored = service.download(site.page_url(video=site.url("/media/clip.mp4"), thumb=remote))
    without = service.download(site.page_url(video=site.url("/media/clip.webm")))
    for task in (unstored, without):
        assert service.wait_for_status(task["id"], "completed", "failed")["status"] == "completed"

    page = service.client.get("/library").text

    card = page.split(f'data-task-id="{unstored["id"]}"', 1)[1].split("</article>", 1)[0]
    assert f'<img class="thumb" src="{remote}"' in card
    bare = page.split(f'data-task-id="{without["id"]}"', 1)[1].split("</article>", 1)[0]
    assert '<span class="thumb none" aria-hidden="true"></span>' in bare and "<img" not in bare
