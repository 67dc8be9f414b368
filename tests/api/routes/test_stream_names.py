"""A saved video is named after its title: `Content-Disposition` carries the title made safe
for file names as `filename*=UTF-8''...`, the file's own `video__<id>.<ext>` as `filename=`,
`inline` for playing and `attachment` with `?download=1`."""

import re
import unicodedata
import uuid
from urllib.parse import unquote

import pytest

from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite

# Characters no common file system takes in a name (Windows refuses all of these).
UNSAFE = set('/\\:*?"<>|')


def saved_names(disposition: str) -> tuple[str, str, str | None]:
    """(disposition type, `filename=`, decoded `filename*=` or None) of a header value."""
    kind = disposition.split(";", 1)[0].strip()
    fallback = re.search(r'filename="([^"]*)"', disposition)
    preferred = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert fallback, disposition
    return kind, fallback[1], unquote(preferred[1], errors="strict") if preferred else None


def completed(service: RunningService, site: FixtureSite, title: str) -> dict[str, str]:
    url = site.page_url(video=site.url("/media/clip.mp4"), title=title)
    task = service.download_and_wait(url)
    assert task["status"] == "completed", task
    return task


def test_stream_names_the_file_after_the_title_inline_and_as_attachment(
    service: RunningService, site: FixtureSite
) -> None:
    task = completed(service, site, "A video")
    stream_url = task["stream_url"]

    played = service.client.get(stream_url)
    saved = service.client.get(stream_url, params={"download": "1"})
    ranged = service.client.get(stream_url, headers={"Range": "bytes=0-9"})

    fallback = f"video__{task['id']}.mp4"
    assert played.headers["content-disposition"] == (
        f"inline; filename=\"{fallback}\"; filename*=UTF-8''A%20video.mp4"
    )
    assert saved.headers["content-disposition"] == (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''A%20video.mp4"
    )
    assert (saved.status_code, saved.content) == (200, played.content)
    assert ranged.status_code == 206
    assert saved_names(ranged.headers["content-disposition"]) == ("inline", fallback, "A video.mp4")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ('AC/DC: "Live" at <Wembley>?', "AC_DC_ _Live_ at _Wembley__.mp4"),
        ("Café — día 1 🎬", "Café — día 1 🎬.mp4"),
        ("evil\u202egpj.exe", "evilgpj.exe.mp4"),
        ("CON", "CON_.mp4"),
        ("..", None),
        ("x" * 400, "x" * 200 + ".mp4"),
    ],
)
def test_stream_title_is_made_safe_for_file_names(
    service: RunningService, site: FixtureSite, title: str, expected: str | None
) -> None:
    task = completed(service, site, title)

    response = service.client.get(task["stream_url"], params={"download": "true"})

    kind, fallback, preferred = saved_names(response.headers["content-disposition"])
    assert (kind, fallback) == ("attachment", f"video__{task['id']}.mp4")
    assert preferred == expected
    if preferred is not None:
        assert not UNSAFE & set(preferred)
        assert all(unicodedata.category(char) not in ("Cc", "Cf") for char in preferred)
        assert len(preferred.encode()) <= 255


def test_stream_of_a_file_without_a_task_keeps_its_own_name(service: RunningService) -> None:
    name = f"video__{uuid.uuid4()}.webm"
    (service.settings.downloads_dir / name).write_bytes(b"\x1a\x45\xdf\xa3 not much")

    response = service.client.get(f"/api/stream/{name}")

    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'inline; filename="{name}"'


def test_stream_download_flag_must_be_a_boolean(service: RunningService) -> None:
    name = f"video__{uuid.uuid4()}.mp4"
    (service.settings.downloads_dir / name).write_bytes(b"bytes")

    response = service.client.get(f"/api/stream/{name}", params={"download": "maybe"})

    assert response.status_code == 422
    assert "detail" in response.json()
