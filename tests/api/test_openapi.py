import re
import uuid
from typing import Any

import pytest

from tests.fixtures.service import RunningService

TASK = {"$ref": "#/components/schemas/TaskPublic"}
SUBSCRIPTION = {"$ref": "#/components/schemas/SubscriptionPublic"}
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
    ("/api/subscriptions", "post", "201", SUBSCRIPTION),
    ("/api/subscriptions", "get", "200", {"type": "array", "items": SUBSCRIPTION}),
    ("/api/subscriptions/{subscription_id}", "get", "200", SUBSCRIPTION),
    ("/api/subscriptions/{subscription_id}", "patch", "200", SUBSCRIPTION),
    ("/api/subscriptions/{subscription_id}/check", "post", "202", SUBSCRIPTION),
    (
        "/api/subscriptions/{subscription_id}",
        "delete",
        "200",
        {"$ref": "#/components/schemas/SubscriptionRemoval"},
    ),
    ("/api/health", "get", "200", {"$ref": "#/components/schemas/Health"}),
    ("/api/info", "get", "200", {"$ref": "#/components/schemas/VideoInfoPublic"}),
    ("/api/events/link", "get", "200", {"$ref": "#/components/schemas/EventsLink"}),
    ("/healthz", "get", "200", {"$ref": "#/components/schemas/Liveness"}),
    ("/readyz", "get", "200", {"$ref": "#/components/schemas/Readiness"}),
    (
        "/api/cookies",
        "get",
        "200",
        {"type": "array", "items": {"$ref": "#/components/schemas/CookieSetPublic"}},
    ),
    ("/api/cookies/{name}", "put", "200", {"$ref": "#/components/schemas/CookieSetPublic"}),
    ("/api/admin/ytdlp", "get", "200", {"$ref": "#/components/schemas/YtdlpStatusPublic"}),
    ("/api/admin/ytdlp/update", "post", "200", {"$ref": "#/components/schemas/YtdlpUpdated"}),
]
MEDIA_ROUTES = [
    ("/api/stream/{filename}", {"video/mp4", "video/webm"}),
    ("/api/thumbnails/{task_id}", {"image/jpeg", "image/webp", "image/png"}),
    ("/api/subtitles/{filename}", {"text/vtt"}),
]
EVENT_ROUTES = [("/api/downloads/{task_id}/events", "get"), ("/api/events", "get")]
# Prometheus's text format.
TEXT_ROUTES = [("/metrics", "get")]
NO_CONTENT_ROUTES = [("/api/cookies/{name}", "delete")]
ORIGIN = "http://localhost:3000"
# Open, for container probes that carry no key.
OPEN_PATHS = {"/api/health", "/healthz", "/readyz"}


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
    } | set(EVENT_ROUTES) | set(TEXT_ROUTES) | set(NO_CONTENT_ROUTES)


def test_a_cookie_set_is_uploaded_as_text(openapi: dict[str, Any]) -> None:
    upload = openapi["paths"]["/api/cookies/{name}"]["put"]

    assert upload["requestBody"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    assert {"413", "415", "422"} <= set(upload["responses"])


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

    content = responses["200"]["content"]
    assert media_types <= set(content)
    for media_type in content:
        assert content[media_type]["schema"] == {"type": "string", "format": "binary"}
    assert {"ETag", "Last-Modified"} <= set(responses["200"]["headers"])
    assert "Content-Range" in responses["416"]["headers"]
    error = responses["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorMessage"}


def test_every_operation_id_is_the_snake_case_name_of_what_it_does(
    openapi: dict[str, Any],
) -> None:
    ids = {
        (method, path): operation["operationId"]
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
    }

    assert len(set(ids.values())) == len(ids)
    for operation_id in ids.values():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id), operation_id
    assert {
        ids["post", "/api/download"],
        ids["get", "/api/downloads"],
        ids["get", "/api/downloads/{task_id}"],
        ids["get", "/api/stream/{filename}"],
        ids["head", "/api/stream/{filename}"],
        ids["get", "/api/health"],
    } == {
        "start_download",
        "list_downloads",
        "get_download",
        "stream_video",
        "stream_video_head",
        "get_health",
    }


def test_keys_are_declared_as_a_bearer_token_or_a_header(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]

    assert (schemes["BearerKey"]["type"], schemes["BearerKey"]["scheme"]) == ("http", "bearer")
    assert schemes["HeaderKey"]["in"] == "header"
    assert schemes["HeaderKey"]["name"] == "X-API-Key"
    for path, operations in openapi["paths"].items():
        for operation in operations.values():
            expected = None if path in OPEN_PATHS else [{"BearerKey": []}, {"HeaderKey": []}]
            assert operation.get("security") == expected, path


def test_listing_declares_its_cursor_as_an_opaque_string(openapi: dict[str, Any]) -> None:
    parameters = openapi["paths"]["/api/downloads"]["get"]["parameters"]
    before = next(parameter for parameter in parameters if parameter["name"] == "before")

    assert before["in"] == "query"
    assert not before.get("required")
    assert {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"} in before["schema"]["anyOf"]
    search = next(parameter for parameter in parameters if parameter["name"] == "q")
    assert {"type": "string", "maxLength": 200} in search["schema"]["anyOf"]
    assert "accents" in search["description"]


def test_signed_link_parameters_are_declared_on_media_and_event_routes(
    openapi: dict[str, Any],
) -> None:
    for path, _ in [*MEDIA_ROUTES, *EVENT_ROUTES]:
        parameters = openapi["paths"][path]["get"]["parameters"]
        query = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
        assert {"exp", "sig"} <= query, path


def test_response_headers_are_declared(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    download = paths["/api/download"]["post"]["responses"]

    assert download["202"]["headers"]["Location"]["required"] is True
    assert download["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert "Retry-After" in download["503"]["headers"]
    assert "Retry-After" in paths["/api/events"]["get"]["responses"]["503"]["headers"]
    listing = paths["/api/downloads"]["get"]["responses"]["200"]
    assert listing["headers"]["X-Total-Count"]["schema"]["type"] == "integer"
    # Only while more pages follow, so not required.
    assert listing["headers"]["Link"]["schema"]["type"] == "string"
    assert 'rel="next"' in listing["headers"]["Link"]["description"]
    assert not listing["headers"]["Link"].get("required")
    assert "ETag" in paths["/api/thumbnails/{task_id}"]["get"]["responses"]["304"]["headers"]


def test_download_url_rule_is_in_the_schema(openapi: dict[str, Any]) -> None:
    url = openapi["components"]["schemas"]["DownloadRequest"]["properties"]["url"]

    assert url["format"] == "uri"
    assert "http://" in url["description"] and "https://" in url["description"]
    pattern = re.compile(url["pattern"])
    for accepted in ["https://example.com/watch?v=1", "HTTP://a.b", " http://x/y "]:
        assert pattern.search(accepted), accepted
    for refused in ["ftp://a.b", "//a.b/c", "https://", "http:///x", "https://a b", "example.com"]:
        assert not pattern.search(refused), refused


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


def test_info_schema_describes_its_fields_with_their_units(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    info, fmt = schemas["VideoInfoPublic"], schemas["FormatPublic"]

    (example,) = info["examples"]
    assert set(info["properties"]) == set(info["required"])
    # FastAPI drops null values from /openapi.json: the example's `"playlist": null` is gone.
    assert set(example) == set(info["properties"]) - {"playlist"}
    assert set(example["formats"][1]) == set(fmt["properties"])
    undescribed = [name for name, field in fmt["properties"].items() if "description" not in field]
    assert undescribed == []
    assert "seconds" in info["properties"]["duration"]["description"]
    assert "bytes" in fmt["properties"]["filesize"]["description"]
    assert "pixels" in fmt["properties"]["width"]["description"]
    assert "per second" in fmt["properties"]["fps"]["description"]
    operation = openapi["paths"]["/api/info"]["get"]
    assert {"422", "429", "503", "504"} <= set(operation["responses"])


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


def test_cors_exposes_the_listing_headers_to_browsers(service: RunningService) -> None:
    response = service.client.get("/api/downloads", headers={"Origin": ORIGIN})

    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"].lower().split(",")
    assert {"x-total-count", "link"} <= {header.strip() for header in exposed}


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


def test_metrics_route_documents_prometheus_text(openapi: dict[str, Any]) -> None:
    responses = openapi["paths"]["/metrics"]["get"]["responses"]

    assert [media.split(";")[0] for media in responses["200"]["content"]] == ["text/plain"]
    assert {"401", "403"} <= set(responses)
