"""Range requests off the plain path, on every route that serves files: a unit other than
`bytes` is ignored (RFC 9110 section 14.2), a malformed range is a JSON 400 and a range past
the end a JSON 416 that carries `Content-Range: bytes */<size>`. A range longer than a chunk
is served whole and exact, and one whose file shrinks while served is cut short, the
connection closed."""

import logging
import os
import socket
import uuid
from pathlib import Path

import pytest

from tests.fixtures.service import RunningService

TASK_ID = "0f8e7d6c-5b4a-4392-8170-a1b2c3d4e5f6"
# Over the thumbnail cache's per-file budget, so it is served from disk, with ranges.
LARGE_THUMBNAIL_BYTES = 600 * 1024
# Two and a half of the stream route's 1 MiB chunks.
LONG_VIDEO_BYTES = 5 * 512 * 1024


def _plant(folder: Path, name: str, size: int) -> tuple[str, bytes]:
    content = os.urandom(size)
    (folder / name).write_bytes(content)
    return name, content


def _served(route: str, service: RunningService) -> tuple[str, bytes]:
    """A URL of a file-serving route and the bytes it serves."""
    downloads, thumbnails = service.settings.downloads_dir, service.settings.thumbnails_dir
    if route == "stream":
        name, content = _plant(downloads, f"video__{uuid.uuid4()}.mp4", 50_000)
        return f"/api/stream/{name}", content
    if route == "subtitles":
        name, content = _plant(downloads, f"video__{uuid.uuid4()}.en.vtt", 5_000)
        return f"/api/subtitles/{name}", content
    _, content = _plant(thumbnails, f"{TASK_ID}.jpg", LARGE_THUMBNAIL_BYTES)
    return f"/api/thumbnails/{TASK_ID}", content


@pytest.fixture(params=["stream", "subtitles", "thumbnail"])
def served_file(request: pytest.FixtureRequest, service: RunningService) -> tuple[str, bytes]:
    return _served(request.param, service)


@pytest.mark.parametrize("range_header", ["items=0-1", "seconds=0-10", "none=0-1", "x-bytes=0-9"])
def test_range_in_another_unit_is_ignored_and_answers_whole_file(
    service: RunningService, served_file: tuple[str, bytes], range_header: str
) -> None:
    url, content = served_file

    response = service.client.get(url, headers={"Range": range_header})

    assert response.status_code == 200, response.text
    assert response.content == content
    assert "content-range" not in response.headers


def test_range_unit_is_case_insensitive(
    service: RunningService, served_file: tuple[str, bytes]
) -> None:
    url, content = served_file

    response = service.client.get(url, headers={"Range": "Bytes =0-9"})

    assert (response.status_code, response.content) == (206, content[:10])


@pytest.mark.parametrize(
    "range_header", ["bytes=abc", "bytes=5-2", "bytes", "bytes=", "bytes=--", "garbage"]
)
def test_malformed_range_answers_json_400(
    service: RunningService, served_file: tuple[str, bytes], range_header: str
) -> None:
    url, _ = served_file

    response = service.client.get(url, headers={"Range": range_header})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"].startswith("Invalid Range header")
    assert service.client.get("/api/health").status_code == 200


@pytest.mark.parametrize("range_header", ["bytes={size}-", "bytes={beyond}-{far}", "bytes=-0"])
def test_range_past_the_end_answers_json_416_with_content_range(
    service: RunningService, served_file: tuple[str, bytes], range_header: str
) -> None:
    url, content = served_file
    size = len(content)
    header = range_header.format(size=size, beyond=size + 10, far=size + 100)

    response = service.client.get(url, headers={"Range": header})

    assert response.status_code == 416
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-range"] == f"bytes */{size}"
    assert "beyond the end" in response.json()["detail"]


@pytest.mark.parametrize("route", ["stream", "thumbnail"])  # subtitles answer GET only
def test_range_errors_on_head_have_the_same_status_and_headers(
    service: RunningService, route: str
) -> None:
    url, content = _served(route, service)

    malformed = service.client.head(url, headers={"Range": "bytes=9-1"})
    past_end = service.client.head(url, headers={"Range": f"bytes={len(content)}-"})

    assert (malformed.status_code, malformed.content) == (400, b"")
    assert (past_end.status_code, past_end.content) == (416, b"")
    assert past_end.headers["content-range"] == f"bytes */{len(content)}"


@pytest.mark.parametrize(
    "range_header",
    ["bytes=1000-{last_but_1000}", "bytes={last_but_1000}-", "bytes=-70000", "bytes=0-0"],
)
@pytest.mark.parametrize("route", ["stream", "thumbnail"])  # 1 MiB and 64 KiB chunks
def test_range_across_chunks_matches_the_file_byte_for_byte(
    service: RunningService, route: str, range_header: str
) -> None:
    if route == "stream":
        name, content = _plant(
            service.settings.downloads_dir, f"video__{uuid.uuid4()}.mp4", LONG_VIDEO_BYTES
        )
        url = f"/api/stream/{name}"
    else:
        url, content = _served(route, service)
    header = range_header.format(last_but_1000=len(content) - 1000)
    first, _, last = header.removeprefix("bytes=").partition("-")
    start = int(first) if first else len(content) - int(last)
    end = int(last) if first and last else len(content) - 1

    response = service.client.get(url, headers={"Range": header})

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(content)}"
    assert response.content == content[start : end + 1]


def _cut_short_range(
    service: RunningService, path: Path, size: int, *, as_range: bool
) -> tuple[bytes, bytes]:
    """Asks for the whole of `path`, as one range or plainly, reading slowly, and truncates the
    file to 1 MiB once the head has arrived: the head and the body bytes received before the
    close."""
    port = service.client.base_url.port
    assert port is not None
    with socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        connection.settimeout(10)
        connection.connect(("127.0.0.1", port))
        asked = f"Range: bytes=0-{size - 1}\r\n" if as_range else ""
        connection.sendall(
            f"GET /api/stream/{path.name} HTTP/1.1\r\nHost: 127.0.0.1\r\n{asked}\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            received += connection.recv(65536)
        os.truncate(path, 1024 * 1024)
        # The server closes the connection instead of waiting for the next request: EOF.
        received += b"".join(iter(lambda: connection.recv(65536), b""))
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("as_range", [True, False])
def test_file_truncated_while_served_ends_the_answer_short_and_closes(
    service: RunningService, caplog: pytest.LogCaptureFixture, as_range: bool
) -> None:
    size = 48 * 1024 * 1024  # far more than the socket buffers hold
    name, content = _plant(service.settings.downloads_dir, f"video__{uuid.uuid4()}.mp4", size)

    with caplog.at_level(logging.WARNING, logger="offlinetube_api.api.media_response"):
        head, body = _cut_short_range(
            service, service.settings.downloads_dir / name, size, as_range=as_range
        )

    assert head.startswith(b"HTTP/1.1 206 " if as_range else b"HTTP/1.1 200 ")
    assert f"content-length: {size}".encode() in head.lower()
    assert 0 < len(body) < size
    assert body == content[: len(body)]
    assert any("shrank while served" in record.getMessage() for record in caplog.records)
    assert service.client.get("/api/health").status_code == 200
