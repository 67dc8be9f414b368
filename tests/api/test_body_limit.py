"""Request bodies over 16 KiB are refused with 413 before anything parses them, whether the
client declares the size or streams the body in chunks."""

from collections.abc import Iterator

import pytest

from offlinetube_api.api.body_limit import MAX_BODY_BYTES
from tests.fixtures.service import RunningService

PADDING = b'{"url": "https://example.com/watch", "title": "' + b"a" * 17 * 1024 + b'"}'


def assert_json_413(status: int, content_type: str, detail: str) -> None:
    assert status == 413
    assert content_type == "application/json"
    assert str(MAX_BODY_BYTES) in detail


def test_body_over_16_kib_answers_413_and_service_stays_up(service: RunningService) -> None:
    response = service.client.post(
        "/api/download", content=PADDING, headers={"Content-Type": "application/json"}
    )

    assert_json_413(
        response.status_code, response.headers["content-type"], response.json()["detail"]
    )
    assert service.client.get("/api/health").json()["status"] == "ok"
    assert service.client.get("/api/downloads").headers["x-total-count"] == "0"


def test_chunked_body_over_16_kib_answers_413(service: RunningService) -> None:
    def chunks() -> Iterator[bytes]:
        for start in range(0, len(PADDING), 1024):
            yield PADDING[start : start + 1024]

    response = service.client.post(
        "/api/download", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert_json_413(
        response.status_code, response.headers["content-type"], response.json()["detail"]
    )
    assert service.client.get("/api/health").json()["status"] == "ok"


@pytest.mark.parametrize("path", ["/api/downloads/x/cancel", "/api/playlists/x/cancel"])
def test_large_body_is_refused_on_every_route(service: RunningService, path: str) -> None:
    response = service.client.post(path, content=PADDING)

    assert response.status_code == 413


def test_url_over_4_kib_in_a_small_body_answers_422(service: RunningService) -> None:
    url = "https://example.com/" + "a" * 4096

    response = service.client.post("/api/download", json={"url": url})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "url"]


def test_body_just_under_the_limit_reaches_validation(service: RunningService) -> None:
    body = b'{"url": "https://example.com/", "format": "' + b"b" * (MAX_BODY_BYTES - 64) + b'"}'
    assert len(body) <= MAX_BODY_BYTES

    response = service.client.post(
        "/api/download", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422  # format is at most 512 characters
    assert response.json()["detail"][0]["loc"] == ["body", "format"]
