"""Path traversal in every form against the subtitles route and removal: nothing outside the
downloads and thumbnails folders is ever read or deleted. Canaries are planted next to the two
folders, named like the files of a real task; stream and thumbnails have their own such tests
in routes/test_stream.py and routes/test_thumbnails.py."""

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.fixtures.raw_http import CANARY, CANARY_ID, FULLWIDTH_DIGITS, raw_get, raw_request
from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite

# `{id}` is a task id, `{abs}` the quoted absolute path of a canary.
TRAVERSALS = [
    "../{name}",
    "..%2F{name}",
    "..%2f{name}",
    "%2e%2e%2F{name}",
    "%2E%2E/{name}",
    ".%2e/{name}",
    "%2e%2e",
    "..%5C{name}",
    "..\\{name}",
    "%5C..%5C{name}",
    "%252e%252e%252f{name}",
    "%c0%ae%c0%ae%c0%af{name}",
    "%EF%BC%8E%EF%BC%8E%EF%BC%8F{name}",
    "\uff0e\uff0e\uff0f{name}",
    "..%E2%88%95{name}",
    "....//{name}",
    "../" * 20 + "etc/passwd",
    "..%2F" * 20 + "etc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "{abs}",
    "{name}%00",
    "..%00/{name}",
    "%00",
    "..%2F" * 2_000 + "{name}",
    "a" * 10_000,
]


@pytest.fixture
def outside(service: RunningService) -> Path:
    """The folder that holds the downloads and thumbnails folders, and the canaries."""
    return service.settings.downloads_dir.parent


def plant_canaries(folder: Path, task_id: str) -> list[Path]:
    names = [
        f"video__{task_id}.mp4",
        f"video__{task_id}.en.vtt",
        f"{task_id}.jpg",
        f"{task_id}.png",
        "secret.vtt",
    ]
    for name in names:
        (folder / name).write_bytes(CANARY)
    return [folder / name for name in names]


def assert_canaries_intact(canaries: list[Path]) -> None:
    for canary in canaries:
        assert canary.read_bytes() == CANARY, canary


# -- subtitles --------------------------------------------------------------------------------


@pytest.mark.parametrize("traversal", TRAVERSALS)
def test_subtitles_traversal_never_reads_outside_downloads(
    service: RunningService, outside: Path, traversal: str
) -> None:
    canaries = plant_canaries(outside, CANARY_ID)
    name = f"video__{CANARY_ID}.en.vtt"
    target = "/api/subtitles/" + traversal.format(
        name=name, abs=quote(str(outside / name), safe="")
    )

    response = raw_get(service, target)

    assert 400 <= response.status < 500, response.raw[:300]
    assert CANARY not in response.raw
    assert b"root:" not in response.body
    assert_canaries_intact(canaries)
    assert service.client.get("/api/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    "name",
    [
        f"video__{CANARY_ID}.en.vtt\n",
        f"video__{CANARY_ID}.en\uff0evtt",
        f"v\u0456deo__{CANARY_ID}.en.vtt",
        f"video__{CANARY_ID.translate(FULLWIDTH_DIGITS)}.en.vtt",
        f"video__{CANARY_ID}.en.vtt.part",
        "secret.vtt",
    ],
)
def test_subtitles_look_alike_name_answers_404_even_if_file_exists(
    service: RunningService, name: str
) -> None:
    (service.settings.downloads_dir / name).write_bytes(CANARY)

    response = service.client.get(f"/api/subtitles/{quote(name, safe='')}")

    assert response.status_code == 404
    assert CANARY not in response.content


def test_subtitles_symlink_leaving_downloads_answers_404(
    service: RunningService, outside: Path
) -> None:
    plant_canaries(outside, CANARY_ID)
    link = service.settings.downloads_dir / f"video__{uuid.uuid4()}.en.vtt"
    link.symlink_to(outside / f"video__{CANARY_ID}.en.vtt")

    response = service.client.get(f"/api/subtitles/{link.name}")

    assert response.status_code == 404
    assert CANARY not in response.content


def test_subtitles_raw_request_target_reaches_the_route(service: RunningService) -> None:
    """The raw helper does reach a planted file, so the canary checks above can fail."""
    name = f"video__{CANARY_ID}.en.vtt"
    (service.settings.downloads_dir / name).write_bytes(CANARY)

    response = raw_get(service, f"/api/subtitles/{name}")

    assert (response.status, response.body) == (200, CANARY)


# -- removal ----------------------------------------------------------------------------------


@pytest.fixture
def task_id(service: RunningService, site: FixtureSite) -> str:
    """A real task, so a traversal that reached the deletion would have something to match."""
    task = service.download_and_wait(site.url("/plain"))
    task_id: str = task["id"]
    return task_id


@pytest.mark.parametrize(
    "traversal",
    [
        *TRAVERSALS,
        "{id}%2F..%2F..",
        "{id}%00",
        "{id}%20",
        "{id_fullwidth}",
        "{id_lookalike_hyphen}",
        "%2e%2e%2F{id}",
        "..%5C{id}",
        "*",
        "{id_glob}",
    ],
)
def test_remove_traversal_never_deletes_outside_the_folders(
    service: RunningService, outside: Path, task_id: str, traversal: str
) -> None:
    canaries = plant_canaries(outside, task_id) + plant_canaries(outside.parent, task_id)
    name = f"video__{task_id}.mp4"
    download_id = traversal.format(
        name=name,
        abs=quote(str(outside / name), safe=""),
        id=task_id,
        id_fullwidth=task_id.translate(FULLWIDTH_DIGITS),
        id_lookalike_hyphen=task_id.replace("-", "\u2010"),
        id_glob=task_id[:-1] + "%3F",
    )

    response = raw_request(service, "DELETE", f"/api/downloads/{download_id}/remove")

    assert 400 <= response.status < 500, response.raw[:300]
    assert_canaries_intact(canaries)
    assert service.client.get(f"/api/downloads/{task_id}").status_code == 200


def test_remove_deletes_only_inside_the_folders(
    service: RunningService, outside: Path, task_id: str
) -> None:
    canaries = plant_canaries(outside, task_id)
    inside = [
        service.settings.downloads_dir / f"video__{task_id}.mp4",
        service.settings.thumbnails_dir / f"{task_id}.jpg",
    ]
    for path in inside:
        path.write_bytes(b"the task's own file")

    response = raw_request(service, "DELETE", f"/api/downloads/{task_id}/remove")

    assert response.status == 200, response.raw[:300]
    assert not any(path.exists() for path in inside)
    assert_canaries_intact(canaries)


def test_remove_of_canary_id_without_a_task_deletes_nothing(
    service: RunningService, outside: Path
) -> None:
    canaries = plant_canaries(outside, CANARY_ID)
    planted = service.settings.downloads_dir / f"video__{CANARY_ID}.mp4"
    planted.write_bytes(CANARY)

    response = raw_request(service, "DELETE", f"/api/downloads/{CANARY_ID}/remove")

    assert response.status == 404
    assert planted.exists()
    assert_canaries_intact(canaries)
