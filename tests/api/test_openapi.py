import uuid
from typing import Any

import pytest

from tests.fixtures.service import RunningService

TASK = {"$ref": "#/components/schemas/TaskPublic"}
JSON_ROUTES = [
    ("/api/download", "post", "200 202", TASK),
    ("/api/downloads/{task_id}/cancel", "post", "200", TASK),
    ("/api/downloads/{task_id}/retry", "post", "202", TASK),
    (
        "/api/playlists/{playlist_id}",
        "get",
        "200",
        {"type": "array", "items": {"$ref": "#/components/schemas/TaskPublic"}},
    ),
    (
        "/api/playlists/{playlist_id}/cancel",
        "post",
        "200",
        {"$ref": "#/components/schemas/PlaylistCancelResult"},
    ),
    (
        "/api/downloads",
        "get",
        "200",
        {"type": "array", "items": {"$ref": "#/components/schemas/TaskPublic"}},
    ),
    ("/api/downloads/{task_id}", "get", "200", {"$ref": "#/components/schemas/TaskPublic"}),
    (
        "/api/downloads/{download_id}/remove",
        "delete",
        "200",
        {"$ref": "#/components/schemas/RemovalResult"},
    ),
    ("/api/health", "get", "200", {"$ref": "#/components/schemas/Health"}),
    ("/api/events/link", "get", "200", {"$ref": "#/components/schemas/EventsLink"}),
]
MEDIA_ROUTES = [
    ("/api/stream/{filename}", {"video/mp4", "video/webm"}),
    ("/api/thumbnails/{task_id}", {"image/jpeg", "image/webp", "image/png"}),
    ("/api/subtitles/{filename}", {"text/vtt"}),
]
EVENT_ROUTES = [("/api/downloads/{task_id}/events", "get"), ("/api/events", "get")]
ORIGIN = "http://localhost:3000"


@pytest.fixture
def openapi(service: RunningService) -> dict[str, Any]:
    response = service.client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def test_openapi_lists_every_route_and_nothing_else(openapi: dict[str, Any]) -> None:
    documented = {
        (path, method)
        for path, operations in openapi["paths"].items()
        for method in operations
        if method != "head"
    }

    assert openapi["openapi"].startswith("3.1")
    assert openapi["info"]["title"] == "OfflineTube API"
    assert documented == {(path, method) for path, method, *_ in JSON_ROUTES} | {
        (path, "get") for path, _ in MEDIA_ROUTES
    } | set(EVENT_ROUTES)


@pytest.mark.parametrize(("path", "method", "codes", "schema"), JSON_ROUTES)
def test_json_route_documents_its_success_schema(
    openapi: dict[str, Any], path: str, method: str, codes: str, schema: dict[str, Any]
) -> None:
    responses = openapi["paths"][path][method]["responses"]

    success = {status for status in responses if status.startswith("2")}
    assert success == set(codes.split())
    for code in success:
        documented = responses[code]["content"]["application/json"]["schema"]
        assert {key: documented[key] for key in schema} == schema


@pytest.mark.parametrize(("path", "media_types"), MEDIA_ROUTES)
def test_media_route_documents_its_binary_content_and_404(
    openapi: dict[str, Any], path: str, media_types: set[str]
) -> None:
    responses = openapi["paths"][path]["get"]["responses"]

    # OpenAPI 3.1 describes raw binary bodies by media type alone, with no schema.
    assert media_types <= set(responses["200"]["content"])
    error = responses["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorMessage"}


def test_task_routes_document_404(openapi: dict[str, Any]) -> None:
    for path, method in [
        ("/api/downloads/{task_id}", "get"),
        ("/api/downloads/{download_id}/remove", "delete"),
    ]:
        schema = openapi["paths"][path][method]["responses"]["404"]["content"]
        assert schema["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorMessage"}


def test_task_schema_has_an_example_with_every_field(openapi: dict[str, Any]) -> None:
    task = openapi["components"]["schemas"]["TaskPublic"]

    (example,) = task["examples"]
    assert set(task["properties"]) == set(task["required"])
    assert set(example) <= set(task["properties"])
    # FastAPI drops null values from /openapi.json, so only nullable fields may be missing.
    for missing in set(task["properties"]) - set(example):
        assert {"type": "null"} in task["properties"][missing].get("anyOf", []), missing
    assert {"id", "url", "status", "progress", "filename", "created_at"} <= set(example)
    assert example["id"] == example["task_id"]
    assert example["status"] in openapi["components"]["schemas"]["TaskStatus"]["enum"]
    assert example["stream_url"] == f"/api/stream/{example['filename']}"
    assert example["thumbnail"] == f"/api/thumbnails/{example['id']}"


def test_status_enum_lists_the_whole_life_cycle(openapi: dict[str, Any]) -> None:
    statuses = openapi["components"]["schemas"]["TaskStatus"]["enum"]

    expected = ["queued", "downloading", "processing", "completed", "failed", "cancelled"]
    assert sorted(statuses) == sorted(expected)


def test_docs_page_is_html(service: RunningService) -> None:
    response = service.client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


def test_cors_allows_any_origin_even_on_a_404(service: RunningService) -> None:
    response = service.client.get(f"/api/thumbnails/{uuid.uuid4()}", headers={"Origin": ORIGIN})

    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_exposes_total_count_to_browsers(service: RunningService) -> None:
    response = service.client.get("/api/downloads", headers={"Origin": ORIGIN})

    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"].lower().split(",")
    assert "x-total-count" in [header.strip() for header in exposed]


def test_cors_preflight_for_post_download_succeeds(service: RunningService) -> None:
    response = service.client.options(
        "/api/download",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()
