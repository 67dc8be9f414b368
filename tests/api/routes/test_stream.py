"""GET/HEAD /api/stream/{filename}: only `video__<uuid>.<ext>` files of the downloads folder,
served inline with ranges, and never a byte from anywhere else."""

import os
import socket
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.fixtures.processes import open_files
from tests.fixtures.raw_http import (
    CANARY,
    CANARY_ID,
    FULLWIDTH_DIGITS,
    assert_refused_without_leak,
    raw_get,
)
from tests.fixtures.service import RunningService

NOT_FOUND = {"detail": "Video not found"}
TASK_ID = "0f8e7d6c-5b4a-4392-8170-a1b2c3d4e5f6"


def plant(service: RunningService, name: str, content: bytes) -> str:
    (service.settings.downloads_dir / name).write_bytes(content)
    return f"/api/stream/{quote(name, safe='')}"


@pytest.fixture
def clip(service: RunningService, media_dir: Path) -> tuple[str, bytes]:
    content = (media_dir / "clip.mp4").read_bytes()
    return plant(service, f"video__{uuid.uuid4()}.mp4", content), content


@pytest.fixture
def canaries(service: RunningService) -> Path:
    """Files next to the downloads folder, one even named like a finished video."""
    outside = service.settings.downloads_dir.parent
    for name in ("secret.mp4", f"video__{CANARY_ID}.mp4"):
        (outside / name).write_bytes(CANARY)
    return outside


def test_stream_serves_whole_file_inline_with_validators(
    service: RunningService, clip: tuple[str, bytes]
) -> None:
    url, content = clip

    response = service.client.get(url)

    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["content-disposition"].startswith("inline")
    assert "attachment" not in response.headers["content-disposition"]
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"]
    assert response.headers["last-modified"].endswith("GMT")


@pytest.mark.parametrize(
    ("ext", "source", "media_type"),
    [
        ("mp4", "clip.mp4", "video/mp4"),
        ("webm", "clip.webm", "video/webm"),
        ("m4a", "clip.mp4", "audio/mp4"),
        ("mp3", "clip.mp4", "audio/mpeg"),
    ],
)
def test_stream_content_type_follows_extension(
    service: RunningService, media_dir: Path, ext: str, source: str, media_type: str
) -> None:
    content = (media_dir / source).read_bytes()
    url = plant(service, f"video__{TASK_ID}.{ext}", content)

    response = service.client.get(url)

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.content == content


@pytest.mark.parametrize(
    ("range_header", "wanted"),
    [
        ("bytes=0-99", slice(0, 100)),
        ("bytes=100-", slice(100, None)),
        ("bytes=-50", slice(-50, None)),
    ],
)
def test_stream_range_answers_206_with_exact_bytes(
    service: RunningService, clip: tuple[str, bytes], range_header: str, wanted: slice
) -> None:
    url, content = clip
    first = wanted.indices(len(content))[0]
    expected = content[wanted]

    response = service.client.get(url, headers={"Range": range_header})

    assert response.status_code == 206
    assert response.content == expected
    last = first + len(expected) - 1
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(content)}"
    assert response.headers["content-length"] == str(len(expected))


@pytest.mark.parametrize("range_header", ["bytes={size}-", "bytes={size}-{beyond}"])
def test_stream_range_beyond_end_answers_416(
    service: RunningService, clip: tuple[str, bytes], range_header: str
) -> None:
    url, content = clip
    size = len(content)

    response = service.client.get(
        url, headers={"Range": range_header.format(size=size, beyond=size + 100)}
    )

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert CANARY not in response.content


def test_stream_head_answers_headers_without_body(
    service: RunningService, clip: tuple[str, bytes]
) -> None:
    url, content = clip

    whole = service.client.head(url)
    ranged = service.client.head(url, headers={"Range": "bytes=0-9"})

    assert (whole.status_code, whole.content) == (200, b"")
    assert whole.headers["content-length"] == str(len(content))
    assert whole.headers["content-type"] == "video/mp4"
    assert (ranged.status_code, ranged.content) == (206, b"")
    assert ranged.headers["content-range"] == f"bytes 0-9/{len(content)}"
    assert ranged.headers["content-length"] == "10"


@pytest.mark.parametrize("validator", ["etag", "last-modified", "stale"])
def test_stream_if_range_honours_range_only_while_file_unchanged(
    service: RunningService, clip: tuple[str, bytes], validator: str
) -> None:
    url, content = clip
    headers = service.client.head(url).headers
    if_range = '"stale-etag"' if validator == "stale" else headers[validator]

    response = service.client.get(url, headers={"Range": "bytes=0-99", "If-Range": if_range})

    if validator == "stale":
        assert (response.status_code, response.content) == (200, content)
    else:
        assert (response.status_code, response.content) == (206, content[:100])


def test_stream_missing_file_answers_404(service: RunningService) -> None:
    response = service.client.get(f"/api/stream/video__{uuid.uuid4()}.mp4")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert service.client.head(f"/api/stream/video__{uuid.uuid4()}.mp4").status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "clip.mp4",
        "video__notauuid.mp4",
        f"video__{TASK_ID}.exe",
        f"video__{TASK_ID}.mp4.part",
        f"video__{TASK_ID}",
        f"video_{TASK_ID}.mp4",
        f"video__{TASK_ID.replace('-', '')}.mp4",
        f"video__{TASK_ID}.mp4 ",
        f"video__{TASK_ID}.mp4\n",
        f"video__{TASK_ID}\uff0emp4",
        f"v\u0456deo__{TASK_ID}.mp4",
        f"video__{TASK_ID.translate(FULLWIDTH_DIGITS)}.mp4",
    ],
)
def test_stream_name_not_video_uuid_ext_answers_404_even_if_file_exists(
    service: RunningService, name: str
) -> None:
    url = plant(service, name, CANARY)

    response = service.client.get(url)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("name", ["a" * 10_000, f"video__{'a' * 10_000}.mp4"])
def test_stream_overlong_name_answers_404_not_500(service: RunningService, name: str) -> None:
    response = service.client.get(f"/api/stream/{name}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_stream_symlink_leaving_downloads_answers_404(
    service: RunningService, canaries: Path
) -> None:
    link = service.settings.downloads_dir / f"video__{TASK_ID}.mp4"
    link.symlink_to(canaries / "secret.mp4")

    response = service.client.get(f"/api/stream/{link.name}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_stream_directory_named_like_video_answers_404(service: RunningService) -> None:
    (service.settings.downloads_dir / f"video__{TASK_ID}.mp4").mkdir()

    response = service.client.get(f"/api/stream/video__{TASK_ID}.mp4")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


TRAVERSALS = [
    "/api/stream/../video__{id}.mp4",
    "/api/stream/..%2Fvideo__{id}.mp4",
    "/api/stream/..%2fsecret.mp4",
    "/api/stream/%2e%2e%2Fvideo__{id}.mp4",
    "/api/stream/%2E%2E/secret.mp4",
    "/api/stream/.%2e/video__{id}.mp4",
    "/api/stream/%2e%2e",
    "/api/stream/..%5Cvideo__{id}.mp4",
    "/api/stream/..\\video__{id}.mp4",
    "/api/stream/%5C..%5Csecret.mp4",
    "/api/stream/%252e%252e%252fsecret.mp4",
    "/api/stream/%c0%ae%c0%ae%c0%afsecret.mp4",
    "/api/stream/%EF%BC%8E%EF%BC%8E%EF%BC%8Fvideo__{id}.mp4",
    "/api/stream/\uff0e\uff0e\uff0fvideo__{id}.mp4",
    "/api/stream/..%E2%88%95video__{id}.mp4",
    "/api/stream/....//video__{id}.mp4",
    "/api/stream/" + "../" * 20 + "etc/passwd",
    "/api/stream/" + "..%2F" * 20 + "etc%2Fpasswd",
    "/api/stream/%2Fetc%2Fpasswd",
    "/api/stream//etc/passwd",
    "/api/stream/{abs_secret}",
    "/api/stream/{abs_video}",
    "/api/stream/secret.mp4%00video__{id}.mp4",
    "/api/stream/..%00/video__{id}.mp4",
    "/api/stream/video__{id}.mp4%00",
    "/api/stream/%00",
    "http://127.0.0.1/api/stream/../video__{id}.mp4",
    "/api/stream/" + "..%2F" * 2_000 + "secret.mp4",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_stream_traversal_never_reads_outside_downloads(
    service: RunningService, canaries: Path, target: str
) -> None:
    raw_target = target.format(
        id=CANARY_ID,
        abs_secret=quote(str(canaries / "secret.mp4"), safe=""),
        abs_video=quote(str(canaries / f"video__{CANARY_ID}.mp4"), safe=""),
    )

    response = raw_get(service, raw_target)

    assert_refused_without_leak(service, response)


def test_stream_raw_request_target_reaches_the_route(service: RunningService) -> None:
    """The raw helper does reach a planted file, so the canary checks above can fail."""
    plant(service, f"video__{TASK_ID}.mp4", CANARY)

    response = raw_get(service, f"/api/stream/video__{TASK_ID}.mp4")

    assert (response.status, response.body) == (200, CANARY)


@pytest.mark.parametrize(
    ("method", "headers"),
    [("GET", {}), ("GET", {"Range": "bytes=100-1099"}), ("GET", {"Range": "bytes=-10"}),
     ("HEAD", {}), ("GET", {"Range": "bytes=999999999-"})],
)  # fmt: skip
def test_stream_fast_lane_answers_as_the_documented_route_does(
    service: RunningService, clip: tuple[str, bytes], method: str, headers: dict[str, str]
) -> None:
    """A request without `Origin` is answered ahead of the middleware stack (MediaFirst); one
    with `Origin` goes through it to the route. Apart from CORS's own headers, they match."""
    url, _ = clip

    def answer(extra: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        response = service.client.request(method, url, headers=headers | extra)
        kept = {
            name: value
            for name, value in response.headers.items()
            if name != "date" and not name.startswith("access-control-")
        }
        return response.status_code, response.content, kept

    fast, routed = answer({}), answer({"Origin": "http://app.example"})

    assert fast == routed
    assert fast[2]["x-content-type-options"] == "nosniff"
    assert fast[2]["vary"] == "Origin"


def test_stream_download_query_still_answers_an_attachment(
    service: RunningService, clip: tuple[str, bytes]
) -> None:
    url, content = clip

    response = service.client.get(f"{url}?download=true")

    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content == content


def test_stream_client_leaving_a_long_answer_stops_its_reads(service: RunningService) -> None:
    """A whole 256 GiB file (sparse: it takes no room) asked for and the connection closed
    after its first bytes: the service closes the file within the deadline, where reading the
    rest into the gone connection would take minutes."""
    name = f"video__{uuid.uuid4()}.mp4"
    path = service.settings.downloads_dir / name
    path.touch()
    os.truncate(path, 256 * 1024**3)
    port = service.client.base_url.port
    assert port is not None
    with socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        connection.connect(("127.0.0.1", port))
        connection.sendall(f"GET /api/stream/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        received = b""
        while not received.partition(b"\r\n\r\n")[2]:  # the head and some of the body
            received += connection.recv(65536)
        assert received.startswith(b"HTTP/1.1 200 ")
        assert str(path) in open_files()

    deadline = time.monotonic() + 10
    while str(path) in open_files():
        assert time.monotonic() < deadline, "the file is still open 10 s after the client left"
        time.sleep(0.05)
    assert service.client.get("/api/health").status_code == 200
