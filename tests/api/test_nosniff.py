"""Every answer, media and JSON alike, carries `X-Content-Type-Options: nosniff`, and errors
are JSON even where no route matched."""

import uuid
from pathlib import Path

import httpx
import pytest

from tests.fixtures.service import RunningService

# Fixed, not random: parallel test workers must collect the same test ids.
UNKNOWN_TASK_ID = "c4e8a2d6-9b1f-4f3e-8a7c-2d6e0b9f1a35"


def assert_nosniff(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"


def test_thumbnail_carries_nosniff(service: RunningService, media_dir: Path) -> None:
    task_id = str(uuid.uuid4())
    (service.settings.thumbnails_dir / f"{task_id}.jpg").write_bytes(
        (media_dir / "thumb.jpg").read_bytes()
    )

    found = service.client.get(f"/api/thumbnails/{task_id}")
    missing = service.client.get(f"/api/thumbnails/{uuid.uuid4()}")

    assert (found.status_code, found.headers["content-type"]) == (200, "image/jpeg")
    assert_nosniff(found)
    assert missing.status_code == 404
    assert_nosniff(missing)


def test_video_carries_nosniff_whole_and_ranged(service: RunningService, media_dir: Path) -> None:
    name = f"video__{uuid.uuid4()}.mp4"
    (service.settings.downloads_dir / name).write_bytes((media_dir / "clip.mp4").read_bytes())

    whole = service.client.get(f"/api/stream/{name}")
    ranged = service.client.get(f"/api/stream/{name}", headers={"Range": "bytes=0-9"})

    assert (whole.status_code, ranged.status_code) == (200, 206)
    assert_nosniff(whole)
    assert_nosniff(ranged)


def test_subtitles_carry_nosniff(service: RunningService) -> None:
    name = f"video__{uuid.uuid4()}.en.vtt"
    (service.settings.downloads_dir / name).write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n")

    response = service.client.get(f"/api/subtitles/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/vtt")
    assert_nosniff(response)


def test_json_answer_carries_nosniff(service: RunningService) -> None:
    response = service.client.get("/api/health")

    assert response.headers["content-type"] == "application/json"
    assert_nosniff(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/api/nowhere/<script>alert(1)</script>", 404),
        ("GET", f"/api/downloads/{UNKNOWN_TASK_ID}", 404),
        ("PUT", "/api/download", 405),
        ("GET", "/api/download", 405),
        ("DELETE", "/api/health", 405),
    ],
)
def test_errors_without_a_route_are_json_with_nosniff(
    service: RunningService, method: str, path: str, status: int
) -> None:
    response = service.client.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["detail"], str)
    assert_nosniff(response)
