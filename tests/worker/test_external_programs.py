"""With the SSRF guard on, every network read is made by yt-dlp's own code or refused: an HLS
playlist yt-dlp would hand to ffmpeg (SAMPLE-AES, for a video or for subtitles) is refused, and
ffmpeg never opens a network address even when a file it is given lists one."""

from pathlib import Path
from urllib.parse import urlencode

import pytest
import yt_dlp
from yt_dlp.postprocessor import (
    FFmpegExtractAudioPP,
    FFmpegFixupM3u8PP,
    FFmpegMergerPP,
    FFmpegVideoRemuxerPP,
)
from yt_dlp.utils import PostProcessingError

from offlinetube_api.ffmpeg import locate_ffmpeg, media_duration
from offlinetube_api.worker.playable import BrowserPlayable
from offlinetube_api.worker.thumbnails import ThumbnailFetcher
from offlinetube_api.worker.ytdlp_options import ffmpeg_input_args
from tests.fixtures.canary import CanaryServer
from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite

EXTERNAL_PROGRAM_REFUSED = (
    "Refused to download m3u8_native media with FFmpegFD: connections opened by external "
    "programs cannot be checked (set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow)"
)


def _hls(site: FixtureSite, *segments: str, **extra: str) -> str:
    return site.url("/hls/v.m3u8?" + urlencode({"segment": segments, **extra}, doseq=True))


def test_sample_aes_playlist_is_refused_not_handed_to_ffmpeg(
    guarded_service: RunningService, site: FixtureSite, canary: CanaryServer
) -> None:
    """yt-dlp cannot decrypt SAMPLE-AES itself and falls back to ffmpeg, whose sockets the
    guard cannot see: the segments on an internal address were fetched and served back."""
    playlist = _hls(site, canary.url("/segment.ts"), key="SAMPLE-AES", key_uri=canary.url("/key"))

    task = guarded_service.download_and_wait(site.page_url(video=playlist))

    assert (task["status"], task["error_kind"], task["attempts"]) == (
        "failed",
        "forbidden_target",
        1,
    )
    assert task["error"] == EXTERNAL_PROGRAM_REFUSED
    assert canary.hits == []
    assert list(guarded_service.settings.downloads_dir.glob("video__*")) == []


def test_hls_subtitles_ffmpeg_would_fetch_are_refused(
    guarded_service: RunningService, site: FixtureSite, canary: CanaryServer
) -> None:
    """Subtitles are fetched before any format check runs; the refusal happens when a program
    is about to start, so it covers them too."""
    key = {"key": "SAMPLE-AES", "key_uri": canary.url("/key")}
    subtitles = site.url("/hls/en.m3u8?" + urlencode({"segment": canary.url("/en.vtt"), **key}))
    video = site.url("/media/clip.mp4")
    page = site.url("/html5?" + urlencode({"video": video, "lang": "en", "subs": subtitles}))

    task = guarded_service.download_and_wait(page, subtitles=["en"])

    assert (task["status"], task["error_kind"]) == ("failed", "forbidden_target"), task["error"]
    assert EXTERNAL_PROGRAM_REFUSED in task["error"]
    assert canary.hits == []


def test_hls_segments_on_a_refused_address_are_refused_by_yt_dlp_itself(
    guarded_service: RunningService, site: FixtureSite, canary: CanaryServer
) -> None:
    """AES-128 is decrypted by yt-dlp (pycryptodomex), so its requests pass the guard."""
    playlist = _hls(site, canary.url("/segment.ts"), key="AES-128", key_uri=canary.url("/key"))

    task = guarded_service.download_and_wait(site.page_url(video=playlist))

    assert (task["status"], task["error_kind"]) == ("failed", "forbidden_target"), task["error"]
    assert "Refused to connect to 127.0.0.2: loopback addresses are blocked" in task["error"]
    assert canary.hits == []


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "aes-128"])
def test_hls_from_an_admitted_site_downloads_with_the_guard_on(
    guarded_service: RunningService, site: FixtureSite, encrypted: bool
) -> None:
    segment = site.url("/media/clip.aes.ts" if encrypted else "/media/clip.ts")
    playlist = _hls(site, segment, **({"key": "AES-128"} if encrypted else {}))

    task = guarded_service.download_and_wait(site.page_url(video=playlist))

    assert (task["status"], task["error"]) == ("completed", None)
    assert task["duration"] == pytest.approx(3.0, abs=0.2)


def _playlist_listing(folder: Path, url: str) -> Path:
    playlist = folder / "listing.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:3.0,\n{url}\n#EXT-X-ENDLIST\n")
    return playlist


# ffmpeg itself limits what a local file may open to file,crypto,data; the whitelist makes that
# independent of its version and build, and narrower. These show no address is ever opened.
def test_duration_probe_never_opens_an_address_a_file_lists(
    tmp_path: Path, canary: CanaryServer
) -> None:
    ffmpeg = locate_ffmpeg().path
    assert ffmpeg is not None

    duration = media_duration(ffmpeg, str(_playlist_listing(tmp_path, canary.url("/seg.ts"))))

    assert duration is None
    assert canary.hits == []


def test_post_processing_ffmpeg_never_opens_an_address_a_file_lists(
    tmp_path: Path, canary: CanaryServer
) -> None:
    playlist = _playlist_listing(tmp_path, canary.url("/seg.ts"))
    options = {"quiet": True, "ffmpeg_location": locate_ffmpeg().path}
    options["postprocessor_args"] = ffmpeg_input_args()

    with yt_dlp.YoutubeDL(options) as ydl, pytest.raises(PostProcessingError):
        FFmpegVideoRemuxerPP(ydl, "mp4").run({"filepath": str(playlist), "ext": "m3u8"})

    assert canary.hits == []


def test_every_ffmpeg_post_processor_gets_the_whitelist_ours_included() -> None:
    args = ffmpeg_input_args()

    for pp in (FFmpegMergerPP, FFmpegVideoRemuxerPP, FFmpegExtractAudioPP, FFmpegFixupM3u8PP):
        assert args[f"{pp.pp_key().lower()}+ffmpeg_i"] == ["-protocol_whitelist", "file,pipe"]
    for ours in (ThumbnailFetcher, BrowserPlayable):
        assert args[f"{ours.pp_key().lower()}+ffmpeg_i"] == ["-protocol_whitelist", "file,pipe"]
