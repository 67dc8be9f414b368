"""GET /metrics: Prometheus's text format, every name `offlinetube_`; what a download does to
the counters, route templates as labels, and the `metrics` scope."""

import uuid

import httpx

from offlinetube_api.security.keys import Scope
from tests.fixtures.keys import create_key
from tests.fixtures.prometheus import Scrape
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.site import FixtureSite


def scrape(client: httpx.Client, **headers: str) -> Scrape:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return Scrape(response.text)


def test_every_metric_name_starts_with_offlinetube(service: RunningService) -> None:
    metrics = scrape(service.client)

    assert metrics.families, "no metrics at all"
    assert all(name.startswith("offlinetube_") for name in metrics.names)


def test_a_completed_download_counts_its_outcome_bytes_and_time(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    assert task["status"] == "completed"

    metrics = scrape(service.client)

    assert metrics.value("offlinetube_downloads_total", outcome="completed", error_kind="none") == 1
    assert metrics.value("offlinetube_downloaded_bytes_total") == task["filesize"] > 0
    assert metrics.value("offlinetube_download_duration_seconds_count", outcome="completed") == 1
    assert metrics.value("offlinetube_download_duration_seconds_sum", outcome="completed") > 0
    assert metrics.value("offlinetube_tasks", status="completed") == 1
    assert metrics.value("offlinetube_queue_depth") == 0
    assert metrics.value("offlinetube_downloads_running") == 0
    assert metrics.value("offlinetube_disk_free_bytes") > 0
    assert metrics.value("offlinetube_store_up") == 1


def test_a_failed_download_counts_with_its_error_kind(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download_and_wait(site.url(f"/missing-{uuid.uuid4().hex}.mp4"))
    assert (task["status"], task["error_kind"]) == ("failed", "not_found")

    metrics = scrape(service.client)

    assert (
        metrics.value("offlinetube_downloads_total", outcome="failed", error_kind="not_found") == 1
    )
    assert metrics.value("offlinetube_downloads_total", outcome="completed", error_kind="none") == 0
    assert metrics.value("offlinetube_downloaded_bytes_total") == 0
    assert metrics.value("offlinetube_tasks", status="failed") == 1


def test_requests_are_labelled_by_route_template_never_raw_path(
    service: RunningService, site: FixtureSite
) -> None:
    task_id = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))["id"]
    assert service.client.get(f"/api/downloads/{task_id}").status_code == 200
    assert service.client.get(f"/api/thumbnails/{uuid.uuid4()}").status_code == 404
    assert service.client.get(f"/no/such/{uuid.uuid4().hex}").status_code == 404

    metrics = scrape(service.client)

    one_task = {"method": "GET", "route": "/api/downloads/{task_id}"}
    assert metrics.value("offlinetube_http_requests_total", **one_task, status="200") >= 1
    assert metrics.value("offlinetube_http_request_duration_seconds_count", **one_task) >= 1
    # The thumbnails' fast path answers before the router; it still gets its template.
    thumbnail = {"method": "GET", "route": "/api/thumbnails/{task_id}", "status": "404"}
    assert metrics.value("offlinetube_http_requests_total", **thumbnail) == 1
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert metrics.value("offlinetube_http_requests_total", **unmatched) == 1
    routes = metrics.label_values("offlinetube_http_requests_total", "route")
    assert task_id not in metrics.text
    assert all(route.startswith("/") or route == "<unmatched>" for route in routes)


def test_open_event_streams_are_counted(service: RunningService) -> None:
    with (
        httpx.Client(base_url=service.base_url, timeout=10) as streams,
        streams.stream("GET", "/api/events") as response,
    ):
        assert response.status_code == 200
        wait_until(
            lambda: scrape(service.client).value("offlinetube_event_streams_open") == 1,
            what="the open stream to be counted",
        )
    wait_until(
        lambda: scrape(service.client).value("offlinetube_event_streams_open") == 0,
        what="the closed stream to be let go",
    )


def test_metrics_need_a_metrics_or_admin_key_when_keys_are_required(
    make_service: ServiceFactory,
) -> None:
    service = make_service(auth="on")
    keys = {
        scope: {"Authorization": f"Bearer {create_key(service.settings, scope)}"} for scope in Scope
    }

    assert service.client.get("/metrics").status_code == 401
    assert service.client.get("/metrics", headers=keys[Scope.READ]).status_code == 403
    assert service.client.get("/metrics", headers=keys[Scope.DOWNLOAD]).status_code == 403
    assert service.client.get("/metrics", headers=keys[Scope.METRICS]).status_code == 200
    assert service.client.get("/metrics", headers=keys[Scope.ADMIN]).status_code == 200
    # A metrics key reads nothing of the library.
    assert service.client.get("/api/downloads", headers=keys[Scope.METRICS]).status_code == 403
