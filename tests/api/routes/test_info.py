"""GET /api/info: what yt-dlp sees on a page of the fixture site, read by a real info process,
without downloading; its failures as 4xx and 5xx with a message; a format id from it
downloaded. The route touches no task, but its rate limit counts in the store (PostgreSQL in
distributed mode), so the answers of a video and a playlist page run on both stores; the rest
runs on SQLite."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from offlinetube_api.ffmpeg import MediaCodecs, locate_ffmpeg, media_codecs
from offlinetube_api.info_reader import MAX_RUNNING
from offlinetube_api.security.keys import Scope
from tests.api.routes.test_cookies import assert_no_value, members_page, upload
from tests.fixtures.codec_media import HEVC_WIDTH
from tests.fixtures.keys import create_key
from tests.fixtures.processes import download_processes
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite

sqlite_only = pytest.mark.stores("sqlite")
# The stalled page's deadline; the other tests keep the default (30 s), which a page of the
# fixture site meets even on a machine loaded 7 times over (about 10 s seen).
TIMEOUT_S = 4.0
# What a client waits for an answer: past the service's default deadline (30 s), which a first
# read on a loaded machine may need (the forkserver starts and imports yt-dlp).
CLIENT_WAIT_S = 45.0


def ask(service: RunningService, params: dict[str, str], **headers: str) -> httpx.Response:
    return service.client.get("/api/info", params=params, headers=headers, timeout=CLIENT_WAIT_S)


def info(service: RunningService, url: str, status: int = 200) -> dict[str, Any]:
    response = ask(service, {"url": url})
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {fmt["format_id"]: fmt for fmt in answer["formats"]}


def test_info_on_a_video_page_says_title_thumbnail_and_its_format(
    service: RunningService, site: FixtureSite
) -> None:
    page = site.page_url(
        video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"), title="A clip"
    )
    downloads_before = len(site.transfers)

    answer = info(service, page)

    assert (answer["title"], answer["url"], answer["extractor"]) == ("A clip", page, "Generic")
    assert answer["thumbnail"] == site.url("/media/thumb.jpg")
    assert (answer["is_playlist"], answer["playlist"]) == (False, None)
    [fmt] = answer["formats"]
    assert answer["default_format"] == fmt["format_id"]
    assert fmt["ext"] == "mp4"
    assert fmt["browser_playable"] is None  # an og:video tag declares no codecs
    assert site.transfers[downloads_before:] == []  # no media was fetched
    assert service.client.get("/api/downloads").headers["x-total-count"] == "0"


def test_info_on_a_playlist_page_lists_its_videos(
    service: RunningService, site: FixtureSite
) -> None:
    videos = [site.url("/media/clip.mp4"), site.url("/media/clip.webm")]

    answer = info(service, site.page_url(video=videos, title="Two clips"))

    assert (answer["title"], answer["is_playlist"], answer["formats"]) == ("Two clips", True, [])
    assert answer["playlist"] == {
        "entries": [
            {"position": 1, "title": "Two clips (1)", "url": videos[0]},
            {"position": 2, "title": "Two clips (2)", "url": videos[1]},
        ],
        "cap": service.settings.playlist_limit,
        "truncated": False,
    }


@sqlite_only
def test_info_cuts_a_playlist_at_the_playlist_limit_and_says_so(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(playlist_limit=2)
    videos = [site.url(f"/media/{name}") for name in ("clip.mp4", "clip.webm", "clip-hevc.mp4")]

    playlist = info(service, site.page_url(video=videos))["playlist"]

    assert [entry["url"] for entry in playlist["entries"]] == videos[:2]
    assert (playlist["cap"], playlist["truncated"]) == (2, True)


@sqlite_only
def test_info_says_which_formats_a_browser_plays(
    service: RunningService, site: FixtureSite
) -> None:
    answer = info(service, site.url("/media/h264-hevc.mpd"))

    formats = by_id(answer)
    assert {
        key: (fmt["vcodec"], fmt["acodec"], fmt["width"], fmt["height"], fmt["browser_playable"])
        for key, fmt in formats.items()
    } == {
        "aac": ("none", "mp4a.40.2", None, None, True),
        "h264": ("avc1.42c00d", "none", 320, 240, True),
        "hevc": ("hvc1.1.6.L90.90", "none", 640, 480, False),
    }
    assert answer["default_format"] == "h264+aac"  # the browser-playable default


@sqlite_only
def test_a_format_id_from_info_downloads_that_format(
    service: RunningService, site: FixtureSite
) -> None:
    source = site.url("/media/h264-hevc.mpd")
    formats = by_id(info(service, source))
    hevc = next(key for key, fmt in formats.items() if fmt["browser_playable"] is False)

    task = service.download_and_wait(source, format=hevc)

    assert (task["status"], task["format"], task["transcoded"]) == ("completed", hevc, False)
    ffmpeg = locate_ffmpeg().path
    assert ffmpeg
    codecs = media_codecs(ffmpeg, str(service.settings.downloads_dir / task["filename"]))
    assert codecs == MediaCodecs(video=("hevc",), audio=())
    assert formats[hevc]["width"] == HEVC_WIDTH


@sqlite_only
def test_the_format_id_of_a_single_video_page_downloads_it(
    service: RunningService, site: FixtureSite
) -> None:
    page = site.page_url(video=site.url("/media/clip.webm"))
    [fmt] = info(service, page)["formats"]

    task = service.download_and_wait(page, format=fmt["format_id"])

    assert (task["status"], task["ext"]) == ("completed", fmt["ext"])


@sqlite_only
def test_info_on_a_page_without_video_answers_422_with_ytdlp_message(
    service: RunningService, site: FixtureSite
) -> None:
    answer = info(service, site.url("/plain"), status=422)

    assert answer == {
        "detail": [
            {
                "loc": ["query", "url"],
                "msg": f"Unsupported URL: {site.url('/plain')}",
                "type": "value_error",
            }
        ]
    }


@sqlite_only
def test_info_on_a_missing_page_answers_422_with_the_http_error(
    service: RunningService, site: FixtureSite
) -> None:
    answer = info(service, site.url("/nothing"), status=422)

    assert "HTTP Error 404: Not Found" in answer["detail"][0]["msg"]


@sqlite_only
def test_info_refuses_what_the_ssrf_guard_refuses(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(allow_private_urls=False)
    requests_before = len(site.requests)

    answer = info(service, site.page_url(video=site.url("/media/clip.mp4")), status=422)

    assert answer["detail"][0]["msg"] == (
        "Refused to connect to 127.0.0.1: loopback addresses are blocked "
        "(set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow)"
    )
    assert site.requests[requests_before:] == []


@sqlite_only
def test_info_on_a_page_that_never_answers_ends_in_504_and_the_service_stays_up(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(info_timeout_seconds=TIMEOUT_S)
    running_before = download_processes()
    started = time.monotonic()

    answer = info(service, site.url("/stall/0/subs.en.vtt"), status=504)

    assert TIMEOUT_S <= time.monotonic() - started < TIMEOUT_S + 10  # the site stalls 120 s
    assert "OFFLINETUBE_INFO_TIMEOUT_SECONDS" in answer["detail"]
    assert download_processes() <= running_before  # the info process was killed and reaped
    assert service.client.get("/healthz").status_code == 200


@sqlite_only
def test_info_refuses_an_address_that_is_not_http(service: RunningService) -> None:
    answer = info(service, "file:///etc/passwd", status=422)

    assert "absolute http:// or https://" in answer["detail"][0]["msg"]


@sqlite_only
def test_info_is_rate_limited_apart_from_downloads(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(rate_limit_per_minute=2)
    plain = site.url("/plain")
    answers = [ask(service, {"url": plain}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [422, 422, 429]
    assert answers[2].json()["detail"].startswith("Too many pages read; try again in ")
    assert int(answers[2].headers["retry-after"]) >= 1
    service.download(site.url("/plain"))  # downloads have their own count


@sqlite_only
def test_info_needs_a_key_of_download_scope(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(auth="on")
    read = create_key(service.settings, Scope.READ)
    download = create_key(service.settings, Scope.DOWNLOAD)
    params = {"url": site.url("/plain")}

    anonymous = ask(service, params)
    reader = ask(service, params, **{"X-API-Key": read})
    downloader = ask(service, params, **{"X-API-Key": download})

    assert (anonymous.status_code, reader.status_code, downloader.status_code) == (401, 403, 422)


@sqlite_only
def test_info_sends_the_cookie_set_of_the_domain_or_the_one_named(
    service: RunningService, site: FixtureSite
) -> None:
    page = members_page(site)
    refused = info(service, page, status=422)
    upload(service.client, "members")

    by_domain = info(service, page)
    named = ask(service, {"url": page, "cookies": "members"})
    unknown = ask(service, {"url": page, "cookies": "nobody"})

    assert "HTTP Error 403" in refused["detail"][0]["msg"]
    assert "upload it with PUT /api/cookies/{name}" in refused["detail"][0]["msg"]
    assert by_domain["title"] == "Members' clip"
    assert (named.status_code, named.json()["title"]) == (200, "Members' clip")
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["query", "cookies"]
    assert "Unknown cookie set 'nobody'" in unknown.json()["detail"][0]["msg"]
    assert_no_value(refused, by_domain, named.text)
    assert list((service.settings.data_dir / "cookie-files").iterdir()) == []


@sqlite_only
def test_a_page_beyond_the_four_read_at_once_answers_503(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(info_timeout_seconds=TIMEOUT_S)
    stalled = {"url": site.url("/stall/0/subs.en.vtt")}
    running_before = download_processes()

    def read_stalled_page() -> int:
        url = f"{service.base_url}/api/info"
        return httpx.get(url, params=stalled, timeout=CLIENT_WAIT_S).status_code

    with ThreadPoolExecutor(MAX_RUNNING) as pool:
        reading = [pool.submit(read_stalled_page) for _ in range(MAX_RUNNING)]
        wait_until(
            lambda: len(download_processes() - running_before) == MAX_RUNNING,
            what="four info processes",
        )
        refused = ask(service, stalled)
        statuses = [future.result() for future in reading]

    assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
    assert "try again in a few seconds" in refused.json()["detail"]
    assert statuses == [504] * MAX_RUNNING
