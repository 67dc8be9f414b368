"""Subtitles are extras: a language that cannot be fetched or is not offered is skipped with a
warning on the task; the video and the other languages are still saved."""

import socket
from urllib.parse import urlencode

from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite


def html5_page(site: FixtureSite, tracks: dict[str, str]) -> str:
    """A `<video>` page with one `<track>` per language."""
    query = {
        "video": site.url("/media/clip.mp4"),
        "lang": list(tracks),
        "subs": list(tracks.values()),
    }
    return site.url(f"/html5?{urlencode(query, doseq=True)}")


def closed_port_url(path: str) -> str:
    """A URL on 127.0.0.1 where nothing listens: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def test_a_missing_subtitle_file_is_skipped_and_the_video_completes(
    service: RunningService, site: FixtureSite
) -> None:
    page = html5_page(site, {"en": site.url("/media/missing.vtt")})

    task = service.download_and_wait(page, subtitles=["en"])

    assert task["status"] == "completed", task["error"]
    assert service.client.get(task["stream_url"]).status_code == 200
    assert task["subtitles"] == []
    assert task["warnings"] == [
        'Subtitles "en" skipped: they could not be fetched (HTTP Error 404: Not Found)'
    ]
    assert list(service.settings.downloads_dir.glob("*.vtt")) == []


def test_only_the_languages_saved_are_listed_and_the_others_are_warned_about(
    service: RunningService, site: FixtureSite
) -> None:
    page = html5_page(
        site, {"en": site.url("/media/subs.en.vtt"), "es": closed_port_url("/es.vtt")}
    )

    task = service.download_and_wait(page, subtitles=["en", "es", "fr"])

    assert task["status"] == "completed", task["error"]
    assert [subtitle["lang"] for subtitle in task["subtitles"]] == ["en"]
    assert "Hello from the fixture site" in service.client.get(task["subtitles"][0]["url"]).text
    fr, es = task["warnings"]  # languages not offered are known first
    assert fr == 'Subtitles "fr" skipped: the site offers none in this language'
    assert es.startswith('Subtitles "es" skipped: they could not be fetched (HTTPConnection'), es
    assert es.endswith("Connection refused)"), es
