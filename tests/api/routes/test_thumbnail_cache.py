"""Thumbnails come from memory with an ETag and 304s, and the cache is never stale: a removed,
replaced or overtaken file shows at once; the probe order and the Spanish 404 stay the seed's."""

import os
from pathlib import Path

import pytest

from offlinetube_api.thumbnail_cache import ThumbnailCache
from tests.fixtures.service import RunningService

SPANISH_404 = b'{"detail":"Miniatura no encontrada"}'
TASK_ID = "0f8e7d6c-5b4a-4392-8170-a1b2c3d4e5f6"
URL = f"/api/thumbnails/{TASK_ID}"


def plant(folder: Path, name: str, content: bytes) -> Path:
    """Written aside and renamed into place, as the worker does."""
    path = folder / name
    staged = folder / f".{name}.part"
    staged.write_bytes(content)
    os.replace(staged, path)
    return path


@pytest.fixture
def thumbs_dir(service: RunningService) -> Path:
    return service.settings.thumbnails_dir


def test_thumbnail_answers_with_etag_and_no_cache(
    service: RunningService, thumbs_dir: Path
) -> None:
    plant(thumbs_dir, f"{TASK_ID}.jpg", b"jpeg bytes")

    response = service.client.get(URL)

    assert (response.status_code, response.content) == (200, b"jpeg bytes")
    assert response.headers["etag"].startswith('"')
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["content-length"] == "10"


@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_thumbnail_if_none_match_answers_304_without_body(
    service: RunningService, thumbs_dir: Path, form: str
) -> None:
    plant(thumbs_dir, f"{TASK_ID}.png", b"png bytes")
    etag = service.client.get(URL).headers["etag"]

    response = service.client.get(URL, headers={"If-None-Match": form.format(etag=etag)})

    assert (response.status_code, response.content) == (304, b"")
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, no-cache"


def test_thumbnail_other_etag_answers_200(service: RunningService, thumbs_dir: Path) -> None:
    plant(thumbs_dir, f"{TASK_ID}.jpg", b"jpeg bytes")

    response = service.client.get(URL, headers={"If-None-Match": '"not-it"'})

    assert (response.status_code, response.content) == (200, b"jpeg bytes")


def test_thumbnail_removed_after_caching_answers_spanish_404(
    service: RunningService, thumbs_dir: Path
) -> None:
    path = plant(thumbs_dir, f"{TASK_ID}.jpg", b"jpeg bytes")
    etag = service.client.get(URL).headers["etag"]
    path.unlink()

    plain = service.client.get(URL)
    conditional = service.client.get(URL, headers={"If-None-Match": etag})

    for response in (plain, conditional):
        assert (response.status_code, response.content) == (404, SPANISH_404)
        assert response.headers["content-type"] == "application/json"


def test_thumbnail_replaced_with_same_size_is_served_new(
    service: RunningService, thumbs_dir: Path
) -> None:
    plant(thumbs_dir, f"{TASK_ID}.jpg", b"old-bytes!")
    first = service.client.get(URL)
    plant(thumbs_dir, f"{TASK_ID}.jpg", b"new-bytes!")

    second = service.client.get(URL, headers={"If-None-Match": first.headers["etag"]})

    assert (second.status_code, second.content) == (200, b"new-bytes!")
    assert second.headers["etag"] != first.headers["etag"]


def test_thumbnail_jpg_appearing_overtakes_a_cached_webp(
    service: RunningService, thumbs_dir: Path
) -> None:
    plant(thumbs_dir, f"{TASK_ID}.webp", b"webp bytes")
    assert service.client.get(URL).headers["content-type"] == "image/webp"
    plant(thumbs_dir, f"{TASK_ID}.jpg", b"jpeg bytes")

    response = service.client.get(URL)

    assert (response.status_code, response.content) == (200, b"jpeg bytes")
    assert response.headers["content-type"] == "image/jpeg"


def test_thumbnail_too_large_to_cache_is_served_from_disk(
    service: RunningService, thumbs_dir: Path
) -> None:
    big = os.urandom(600 * 1024)
    plant(thumbs_dir, f"{TASK_ID}.png", big)

    response = service.client.get(URL)
    revalidated = service.client.get(URL, headers={"If-None-Match": response.headers["etag"]})

    assert (response.status_code, response.content) == (200, big)
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, no-cache"
    assert revalidated.status_code == 304


def test_thumbnail_head_304_and_404_have_no_body(service: RunningService, thumbs_dir: Path) -> None:
    plant(thumbs_dir, f"{TASK_ID}.jpg", b"jpeg bytes")
    etag = service.client.head(URL).headers["etag"]

    assert service.client.head(URL, headers={"If-None-Match": etag}).status_code == 304
    other = "c0ffee00-dead-4bee-8f00-0123456789ab"
    missing = service.client.head(f"/api/thumbnails/{other}")
    assert (missing.status_code, missing.content) == (404, b"")


def test_cache_keeps_at_most_its_budget_and_rereads_an_in_place_rewrite(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, max_file_bytes=100, max_total_bytes=250)
    ids = [f"0f8e7d6c-5b4a-4392-8170-a1b2c3d4e5f{n}" for n in range(4)]
    for task_id in ids:
        (tmp_path / f"{task_id}.jpg").write_bytes(b"x" * 100)
        assert cache.probe(task_id) is not None

    assert cache.cached_bytes == 200
    rewritten = tmp_path / f"{ids[3]}.jpg"  # the newest, still cached
    rewritten.write_bytes(b"shorter")  # in place: same inode, another size
    found = cache.probe(ids[3])
    assert found is not None and found.body == b"shorter"
