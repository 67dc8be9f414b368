"""GET/HEAD /api/thumbnails/{task_id}: `<id>.jpg`, else `.webp`, else `.png` from the thumbnails
folder, else the seed's exact Spanish 404; never a byte from anywhere else."""

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.fixtures.raw_http import (
    CANARY,
    CANARY_ID,
    FULLWIDTH_DIGITS,
    assert_refused_without_leak,
    raw_get,
)
from tests.fixtures.service import RunningService

SPANISH_404 = b'{"detail":"Miniatura no encontrada"}'
TASK_ID = "0f8e7d6c-5b4a-4392-8170-a1b2c3d4e5f6"
MEDIA_TYPES = {"jpg": "image/jpeg", "webp": "image/webp", "png": "image/png"}


def assert_spanish_404(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.content == SPANISH_404
    assert response.json() == {"detail": "Miniatura no encontrada"}


@pytest.fixture
def thumbs(media_dir: Path) -> dict[str, bytes]:
    return {ext: (media_dir / f"thumb.{ext}").read_bytes() for ext in ("jpg", "webp", "png", "gif")}


@pytest.fixture
def canaries(service: RunningService) -> Path:
    """Files next to the thumbnails folder, named like thumbnails."""
    outside = service.settings.thumbnails_dir.parent
    for name in (f"{CANARY_ID}.jpg", f"{CANARY_ID}.png", "secret.jpg"):
        (outside / name).write_bytes(CANARY)
    return outside


def plant(service: RunningService, name: str, content: bytes) -> Path:
    path = service.settings.thumbnails_dir / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("ext", ["jpg", "webp", "png"])
def test_thumbnail_served_with_its_image_type(
    service: RunningService, thumbs: dict[str, bytes], ext: str
) -> None:
    plant(service, f"{TASK_ID}.{ext}", thumbs[ext])

    response = service.client.get(f"/api/thumbnails/{TASK_ID}")

    assert response.status_code == 200
    assert response.headers["content-type"] == MEDIA_TYPES[ext]
    assert response.content == thumbs[ext]


@pytest.mark.parametrize(
    ("present", "served"),
    [
        (("jpg", "webp", "png"), "jpg"),
        (("jpg", "webp"), "jpg"),
        (("jpg", "png"), "jpg"),
        (("webp", "png"), "webp"),
        (("png", "gif"), "png"),
        (("webp", "gif"), "webp"),
    ],
)
def test_thumbnail_probe_order_is_jpg_then_webp_then_png(
    service: RunningService, thumbs: dict[str, bytes], present: tuple[str, ...], served: str
) -> None:
    for ext in present:
        plant(service, f"{TASK_ID}.{ext}", thumbs[ext])

    response = service.client.get(f"/api/thumbnails/{TASK_ID}")

    assert response.status_code == 200
    assert response.headers["content-type"] == MEDIA_TYPES[served]
    assert response.content == thumbs[served]


def test_thumbnail_removing_the_served_file_falls_back_to_the_next_format(
    service: RunningService, thumbs: dict[str, bytes]
) -> None:
    planted = [plant(service, f"{TASK_ID}.{ext}", thumbs[ext]) for ext in ("jpg", "webp", "png")]

    for path, ext in zip(planted, ("jpg", "webp", "png"), strict=True):
        response = service.client.get(f"/api/thumbnails/{TASK_ID}")
        assert (response.status_code, response.content) == (200, thumbs[ext])
        assert response.headers["content-type"] == MEDIA_TYPES[ext]
        path.unlink()

    assert_spanish_404(service.client.get(f"/api/thumbnails/{TASK_ID}"))


def test_thumbnail_missing_answers_spanish_404(service: RunningService) -> None:
    assert_spanish_404(service.client.get(f"/api/thumbnails/{TASK_ID}"))


@pytest.mark.parametrize("ext", ["gif", "jpeg", "JPG", "image", "jpg.part"])
def test_thumbnail_other_formats_are_not_probed(
    service: RunningService, thumbs: dict[str, bytes], ext: str
) -> None:
    plant(service, f"{TASK_ID}.{ext}", thumbs.get(ext, thumbs["jpg"]))

    assert_spanish_404(service.client.get(f"/api/thumbnails/{TASK_ID}"))


@pytest.mark.parametrize(
    "task_id",
    [
        "notauuid",
        "123",
        TASK_ID.replace("-", ""),
        f"{TASK_ID}x",
        f"{TASK_ID} ",
        f"{TASK_ID}\n",
        f"{{{TASK_ID}}}",
        f"urn:uuid:{TASK_ID}",
        TASK_ID.translate(FULLWIDTH_DIGITS),
    ],
)
def test_thumbnail_non_uuid_task_id_answers_spanish_404_even_if_file_exists(
    service: RunningService, thumbs: dict[str, bytes], task_id: str
) -> None:
    plant(service, f"{task_id}.jpg", thumbs["jpg"])

    assert_spanish_404(service.client.get(f"/api/thumbnails/{quote(task_id, safe='')}"))


def test_thumbnail_overlong_task_id_answers_spanish_404_not_500(service: RunningService) -> None:
    assert_spanish_404(service.client.get(f"/api/thumbnails/{'a' * 10_000}"))


def test_thumbnail_head_answers_headers_without_body(
    service: RunningService, thumbs: dict[str, bytes]
) -> None:
    plant(service, f"{TASK_ID}.webp", thumbs["webp"])

    found = service.client.head(f"/api/thumbnails/{TASK_ID}")
    missing = service.client.head(f"/api/thumbnails/{CANARY_ID}")

    assert (found.status_code, found.content) == (200, b"")
    assert found.headers["content-type"] == "image/webp"
    assert found.headers["content-length"] == str(len(thumbs["webp"]))
    assert (missing.status_code, missing.content) == (404, b"")


def test_thumbnail_symlink_leaving_thumbnails_answers_spanish_404(
    service: RunningService, canaries: Path
) -> None:
    (service.settings.thumbnails_dir / f"{TASK_ID}.jpg").symlink_to(canaries / "secret.jpg")

    assert_spanish_404(service.client.get(f"/api/thumbnails/{TASK_ID}"))


def test_thumbnail_directory_named_like_image_answers_spanish_404(
    service: RunningService,
) -> None:
    (service.settings.thumbnails_dir / f"{TASK_ID}.jpg").mkdir()

    assert_spanish_404(service.client.get(f"/api/thumbnails/{TASK_ID}"))


TRAVERSALS = [
    "/api/thumbnails/../{id}",
    "/api/thumbnails/..%2F{id}",
    "/api/thumbnails/..%2f{id}",
    "/api/thumbnails/%2e%2e%2F{id}",
    "/api/thumbnails/%2E%2E/{id}",
    "/api/thumbnails/.%2e/{id}",
    "/api/thumbnails/%2e%2e",
    "/api/thumbnails/..%5C{id}",
    "/api/thumbnails/..\\{id}",
    "/api/thumbnails/%5C..%5Csecret",
    "/api/thumbnails/%252e%252e%252f{id}",
    "/api/thumbnails/%c0%ae%c0%ae%c0%af{id}",
    "/api/thumbnails/%EF%BC%8E%EF%BC%8E%EF%BC%8F{id}",
    "/api/thumbnails/\uff0e\uff0e\uff0f{id}",
    "/api/thumbnails/..%E2%88%95{id}",
    "/api/thumbnails/" + "../" * 20 + "etc/passwd",
    "/api/thumbnails/" + "..%2F" * 20 + "etc%2Fpasswd",
    "/api/thumbnails/%2Fetc%2Fpasswd",
    "/api/thumbnails//etc/passwd",
    "/api/thumbnails/{abs_canary}",
    "/api/thumbnails/{id}%00",
    "/api/thumbnails/..%00/{id}",
    "/api/thumbnails/%00",
    "http://127.0.0.1/api/thumbnails/../{id}",
    "/api/thumbnails/" + "..%2F" * 2_000 + "secret",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_thumbnail_traversal_never_reads_outside_thumbnails(
    service: RunningService, canaries: Path, target: str
) -> None:
    raw_target = target.format(id=CANARY_ID, abs_canary=quote(str(canaries / CANARY_ID), safe=""))

    response = raw_get(service, raw_target)

    assert_refused_without_leak(service, response)


def test_thumbnail_raw_request_target_reaches_the_route(service: RunningService) -> None:
    """The raw helper does reach a planted file, so the canary checks above can fail."""
    plant(service, f"{TASK_ID}.png", CANARY)

    response = raw_get(service, f"/api/thumbnails/{TASK_ID}")

    assert (response.status, response.body) == (200, CANARY)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_thumbnail_fast_lane_answers_as_the_documented_route_does(
    service: RunningService, thumbs: dict[str, bytes], method: str
) -> None:
    """A request without `Origin` is answered ahead of the middleware stack; one with `Origin`
    goes through it to the route. Apart from CORS's own headers, the two answers match."""
    plant(service, f"{TASK_ID}.jpg", thumbs["jpg"])
    url = f"/api/thumbnails/{TASK_ID}"
    cross_origin = {"Origin": "http://app.example"}

    def answer(headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        response = service.client.request(method, url, headers=headers)
        kept = {
            name: value
            for name, value in response.headers.items()
            if name != "date" and not name.startswith("access-control-")
        }
        return response.status_code, response.content, kept

    fast, routed = answer({}), answer(cross_origin)
    etag = fast[2]["etag"]
    fast_304, routed_304 = (
        answer({"If-None-Match": etag}),
        answer(cross_origin | {"If-None-Match": etag}),
    )

    assert fast == routed
    assert fast[0] == 200 and fast[2]["x-content-type-options"] == "nosniff"
    assert fast[2]["vary"] == "Origin"
    assert fast_304 == routed_304
    assert (fast_304[0], fast_304[1]) == (304, b"")
