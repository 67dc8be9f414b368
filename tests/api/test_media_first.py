"""MediaFirst answers thumbnails and videos ahead of the middleware stack; requests it must not
answer itself reach the stack's checks as before. Found by trying to make the two ways differ."""

import uuid
from pathlib import Path

import pytest

from tests.fixtures.raw_http import RawResponse, raw_request
from tests.fixtures.service import RunningService

TASK_ID = "0f8e7d6c-5b4a-4392-8170-a1b2c3d4e5f6"
CROSS_ORIGIN = b"Origin: http://app.example\r\n"  # takes the way through the stack


@pytest.fixture
def paths(service: RunningService, media_dir: Path) -> dict[str, str]:
    (service.settings.thumbnails_dir / f"{TASK_ID}.jpg").write_bytes(
        (media_dir / "thumb.jpg").read_bytes()
    )
    video = f"video__{uuid.uuid4()}.mp4"
    (service.settings.downloads_dir / video).write_bytes((media_dir / "clip.mp4").read_bytes())
    return {"thumbnail": f"/api/thumbnails/{TASK_ID}", "video": f"/api/stream/{video}"}


def _status_both_ways(service: RunningService, target: str, head: bytes) -> tuple[int, int]:
    def status(extra: bytes) -> RawResponse:
        return raw_request(service, "GET", target, head=head + extra)

    return status(b"").status, status(CROSS_ORIGIN).status


def test_if_none_match_of_any_bytes_answers_as_the_route_does(
    service: RunningService, paths: dict[str, str]
) -> None:
    """Header values are latin-1 on both ways: no byte fails to decode (it did: a 500) and no
    UTF-8 space is taken for whitespace around the tag (it was: a 304 for a 200)."""
    target = paths["thumbnail"]
    etag = service.client.get(target).headers["etag"].encode()

    for value in (b'"\xff"', b"\xa0", b"\xc2\xa0" + etag, etag + b"\xe3\x80\x80", b"\xa0" + etag):
        fast, routed = _status_both_ways(service, target, b"If-None-Match: " + value + b"\r\n")

        assert fast == routed, value
        assert fast in (200, 304), value
    assert service.client.get("/api/health").status_code == 200


@pytest.mark.parametrize("kind", ["thumbnail", "video"])
def test_a_second_host_header_does_not_get_past_the_host_check(
    service: RunningService, paths: dict[str, str], kind: str
) -> None:
    """The first `Host` is the one judged, by MediaFirst as by TrustedHosts."""
    refused = raw_request(service, "GET", paths[kind], head=b"Host: evil.example\r\n")

    assert refused.status == 400
    assert b"evil.example" in refused.body


@pytest.mark.parametrize("kind", ["thumbnail", "video"])
def test_a_request_with_a_large_body_is_refused_before_any_answer(
    service: RunningService, paths: dict[str, str], kind: str
) -> None:
    body = b"x" * 20_000
    head = f"Content-Length: {len(body)}\r\n".encode()

    refused = raw_request(service, "GET", paths[kind], head=head, body=body)

    assert refused.status == 413
