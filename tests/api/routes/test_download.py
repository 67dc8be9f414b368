from pathlib import Path

import pytest

from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite


def test_post_answers_202_with_task_and_location(
    service: RunningService, site: FixtureSite
) -> None:
    response = service.client.post(
        "/api/download", json={"url": site.page_url(video="/media/clip.mp4")}
    )

    assert response.status_code == 202
    task = response.json()
    assert task["task_id"] == task["id"]
    assert response.headers["location"] == f"/api/downloads/{task['id']}"
    assert task["status"] in ("queued", "downloading")


def test_download_produces_playable_file_and_thumbnail(
    service: RunningService, site: FixtureSite
) -> None:
    url = site.page_url(
        video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"), title="My clip"
    )

    task = service.download_and_wait(url)

    assert task["status"] == "completed", task["error"]
    assert task["title"] == "My clip"
    assert task["progress"] == 100
    assert task["filename"] == f"video__{task['id']}.mp4"
    assert task["stream_url"] == f"/api/stream/{task['filename']}"
    assert task["thumbnail"] == f"/api/thumbnails/{task['id']}"
    video = service.client.get(task["stream_url"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert len(video.content) == task["filesize"] > 0
    assert service.client.get(task["thumbnail"]).headers["content-type"] == "image/jpeg"


def test_url_with_a_lone_surrogate_gets_422_not_500(service: RunningService) -> None:
    # Valid JSON, not valid UTF-8 once decoded: the 422 that echoes it must still encode.
    body = '{"url": "http://example.com/\\ud800"}'
    response = service.client.post(
        "/api/download", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert "http://" in str(response.json()["detail"])


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "/relative/path",
        "ftp://example.com/video.mp4",
        "file:///etc/passwd",
        "http://",
        "javascript:alert(1)",
        "http://a b.example/",
        "http://example.com/\tvideo",
        "http://127.0.0.1:99999/video",
        "http://example.com:80a/video",
    ],
)
def test_url_that_is_not_absolute_http_gets_422(service: RunningService, url: str) -> None:
    response = service.client.post("/api/download", json={"url": url})

    assert response.status_code == 422
    assert "http://" in str(response.json()["detail"])


@pytest.mark.parametrize("field", ["title", "format"])
@pytest.mark.parametrize("text", ["a\x00b", "two\nlines", "\x1b[31mred"], ids=["NUL", "LF", "ESC"])
def test_title_or_format_with_control_characters_gets_422(
    service: RunningService, field: str, text: str
) -> None:
    response = service.client.post(
        "/api/download", json={"url": "http://example.com/v", field: text}
    )

    assert response.status_code == 422
    assert "control characters" in response.text
    assert service.client.get("/api/downloads").headers["x-total-count"] == "0"


def test_unsupported_url_fails_with_ytdlp_message_and_service_stays_up(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download_and_wait(site.url("/plain"))

    assert task["status"] == "failed"
    assert "Unsupported URL" in task["error"]
    assert "\x1b" not in task["error"]
    assert service.client.get("/api/health").json()["status"] == "ok"


def test_missing_page_fails_with_404_message(service: RunningService, site: FixtureSite) -> None:
    task = service.download_and_wait(site.url("/no-such-page"))

    assert task["status"] == "failed"
    assert "404" in task["error"]
    assert list(Path(service.settings.downloads_dir).glob("video__*")) == []
