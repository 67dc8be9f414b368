"""Without a `format`, a download is something a browser shows: H.264/AAC first, VP9 or AV1
with Opus next, HEVC never when anything else exists; and a source with nothing a browser
decodes is transcoded to H.264/AAC MP4. Headless Chromium is the judge."""

from collections.abc import Iterator

import pytest

from offlinetube_api.ffmpeg import MediaCodecs, locate_ffmpeg, media_codecs
from tests.fixtures.browser import Browser, chromium
from tests.fixtures.codec_media import H264_WIDTH, VP9_WIDTH
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


def source_url(site: FixtureSite, name: str) -> str:
    """A DASH manifest is posted as it is; a plain file through a watch page."""
    media = site.url(f"/media/{name}")
    return media if name.endswith(".mpd") else site.page_url(video=media)


# What the site offers -> (the file's extension, transcoded, the width Chromium shows).
DEFAULT_DOWNLOADS = {
    "h264-hevc.mpd": ("mp4", False, H264_WIDTH),  # H.264 although HEVC is larger
    "vp9-hevc.mpd": ("webm", False, VP9_WIDTH),  # VP9 + Opus, the next best
    "clip-hevc.mp4": ("mp4", True, H264_WIDTH),  # HEVC only
    "clip-mpeg4.avi": ("mp4", True, H264_WIDTH),  # MPEG-4 Part 2 + MP3 in AVI
}


def test_default_downloads_play_in_chromium(
    make_service: ServiceFactory, site: FixtureSite, browser: Browser
) -> None:
    service = make_service(max_concurrent_downloads=len(DEFAULT_DOWNLOADS))
    posted = {name: service.download(source_url(site, name)) for name in DEFAULT_DOWNLOADS}

    for name, (ext, transcoded, width) in DEFAULT_DOWNLOADS.items():
        task = service.wait_for_status(posted[name]["id"], "completed", "failed", "cancelled")
        assert task["status"] == "completed", (name, task["error"])
        assert (task["ext"], task["transcoded"], task["warnings"]) == (ext, transcoded, []), name
        playback = browser.play(service.base_url, task["stream_url"])
        assert (playback.outcome, playback.width) == ("loaded", width), name


def test_transcode_never_keeps_what_the_site_offers_and_says_so(
    make_service: ServiceFactory, site: FixtureSite, browser: Browser
) -> None:
    service = make_service(transcode="never")

    task = service.download_and_wait(source_url(site, "clip-hevc.mp4"))

    assert (task["status"], task["ext"], task["transcoded"]) == ("completed", "mp4", False)
    assert task["warnings"] == [
        "Browsers cannot play this file's hevc; it was kept as it is (OFFLINETUBE_TRANSCODE=never)"
    ]
    playback = browser.play(service.base_url, task["stream_url"])
    assert (playback.outcome, playback.width) == ("loaded", 0)  # the sound, no picture


def test_a_format_in_the_request_gets_hevc_untouched(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download_and_wait(
        source_url(site, "h264-hevc.mpd"), format="bv*[vcodec^=hvc1]+ba"
    )

    assert (task["status"], task["transcoded"], task["warnings"]) == ("completed", False, [])
    ffmpeg = locate_ffmpeg().path
    assert ffmpeg
    codecs = media_codecs(ffmpeg, str(service.settings.downloads_dir / task["filename"]))
    assert codecs == MediaCodecs(video=("hevc",), audio=("aac",))
