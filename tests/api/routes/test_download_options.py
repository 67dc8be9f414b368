"""Per-request options of POST /api/download: duplicates, title, audio only, subtitles."""

from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite


def test_same_url_again_answers_the_existing_task_with_200(
    service: RunningService, site: FixtureSite
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"), title="Once")
    first = service.client.post("/api/download", json={"url": url})

    again = service.client.post("/api/download", json={"url": url})

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == f"/api/downloads/{first.json()['id']}"
    forced = service.client.post("/api/download", json={"url": url, "force": True})
    assert forced.status_code == 202
    assert forced.json()["id"] != first.json()["id"]


def test_other_options_or_a_failed_task_are_not_duplicates(
    service: RunningService, site: FixtureSite
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"))
    video = service.client.post("/api/download", json={"url": url}).json()

    audio = service.client.post("/api/download", json={"url": url, "audio_only": True})
    failed = service.download_and_wait(site.url("/plain"))
    again = service.client.post("/api/download", json={"url": site.url("/plain")})

    assert audio.status_code == 202 and audio.json()["id"] != video["id"]
    assert failed["status"] == "failed"
    assert again.status_code == 202 and again.json()["id"] != failed["id"]


def test_title_in_the_request_replaces_the_sites_title(
    service: RunningService, site: FixtureSite
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"), title="Site title")

    task = service.download_and_wait(url, title="My own title")

    assert (task["status"], task["title"]) == ("completed", "My own title")


def test_audio_only_extracts_m4a_served_as_audio_mp4(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download_and_wait(
        site.page_url(video=site.url("/media/clip.mp4")), audio_only=True
    )

    assert task["status"] == "completed", task["error"]
    assert (task["ext"], task["audio_only"]) == ("m4a", True)
    response = service.client.get(task["stream_url"])
    assert response.headers["content-type"] == "audio/mp4"
    assert response.content[4:8] == b"ftyp"


def test_audio_only_mp3(service: RunningService, site: FixtureSite) -> None:
    task = service.download_and_wait(
        site.page_url(video=site.url("/media/clip.mp4")), audio_only=True, audio_format="mp3"
    )

    assert (task["status"], task["ext"]) == ("completed", "mp3"), task["error"]
    response = service.client.get(task["stream_url"])
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content[:3] == b"ID3" or response.content[0] == 0xFF


def test_subtitles_are_saved_as_vtt_listed_served_and_removed(
    service: RunningService, site: FixtureSite
) -> None:
    page = site.url(
        f"/html5?video={site.url('/media/clip.mp4')}&lang=en&subs={site.url('/media/subs.en.vtt')}"
    )

    task = service.download_and_wait(page, subtitles=["en"])

    assert task["status"] == "completed", task["error"]
    name = f"video__{task['id']}.en.vtt"
    assert task["subtitles"] == [{"lang": "en", "url": f"/api/subtitles/{name}"}]
    response = service.client.get(f"/api/subtitles/{name}")
    assert response.headers["content-type"].startswith("text/vtt")
    assert "Hello from the fixture site" in response.text
    service.client.delete(f"/api/downloads/{task['id']}/remove")
    assert not (service.settings.downloads_dir / name).exists()
    assert service.client.get(f"/api/subtitles/{name}").status_code == 404


def test_bad_options_get_422(service: RunningService, site: FixtureSite) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"))
    for body in (
        {"url": url, "audio_only": True, "audio_format": "flac"},
        {"url": url, "subtitles": ["../../etc"]},
        {"url": url, "title": ""},
    ):
        assert service.client.post("/api/download", json=body).status_code == 422, body
