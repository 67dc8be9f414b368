"""`/healthz` answers while the process does; `/readyz` says whether it can do its work, and
names what stops it. Both open, as container probes carry no key."""

from pathlib import Path

import pytest

from offlinetube_api import readiness
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.service_process import api_replica
from tests.worker.test_storage import refusing_writes

CHECKS = {"store", "download_process", "downloads_folder", "free_space"}


def test_healthz_answers_ok_and_nothing_else(service: RunningService) -> None:
    response = service.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_passes_every_check_on_a_working_service(service: RunningService) -> None:
    response = service.client.get("/readyz")

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "ready"
    assert answer["failing"] == []
    assert set(answer["checks"]) == CHECKS
    assert all(check == {"ok": True, "problem": None} for check in answer["checks"].values())


def test_readyz_is_503_naming_free_space_below_the_reserve(make_service: ServiceFactory) -> None:
    service = make_service(min_free_bytes=10**18)

    response = service.client.get("/readyz")

    assert response.status_code == 503
    answer = response.json()
    assert answer["status"] == "unready"
    assert answer["failing"] == ["free_space"]
    assert "OFFLINETUBE_MIN_FREE_BYTES" in answer["checks"]["free_space"]["problem"]
    assert service.client.get("/healthz").status_code == 200


def test_readyz_is_503_naming_a_downloads_folder_that_refuses_writes(
    service: RunningService,
) -> None:
    with refusing_writes(service.settings.downloads_dir):
        response = service.client.get("/readyz")

    assert response.status_code == 503
    answer = response.json()
    assert answer["failing"] == ["downloads_folder"]
    problem = answer["checks"]["downloads_folder"]["problem"]
    assert problem.startswith("the downloads folder refuses writes")
    assert str(service.settings.downloads_dir) not in problem  # open probe: no paths
    assert service.client.get("/readyz").status_code == 200  # writable again


def test_readyz_is_503_naming_a_download_process_that_cannot_start(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The edge faked: the module a download process runs, gone (a broken install or upgrade).
    monkeypatch.setattr(readiness, "CHILD_MODULE", "offlinetube_api.worker.no_such_child")

    response = service.client.get("/readyz")

    assert response.status_code == 503
    answer = response.json()
    assert answer["failing"] == ["download_process"]
    assert answer["checks"]["download_process"]["problem"] == (
        "the download module cannot be imported"
    )


def test_probes_need_no_key_where_keys_are_required(make_service: ServiceFactory) -> None:
    service = make_service(auth="on")

    assert service.client.get("/api/downloads").status_code == 401
    assert service.client.get("/healthz").status_code == 200
    assert service.client.get("/readyz").status_code == 200


def test_probes_answer_head_like_get_without_a_body(make_service: ServiceFactory) -> None:
    service = make_service(min_free_bytes=10**18)  # /readyz fails: HEAD says so too

    for path, status in (("/healthz", 200), ("/readyz", 503), ("/api/health", 200)):
        got, head = service.client.get(path), service.client.head(path)

        assert (head.status_code, got.status_code) == (status, status), path
        assert head.content == b""
        assert head.headers["content-type"] == "application/json"


def test_readyz_of_an_api_only_replica_checks_what_it_runs(
    postgres_url: str, tmp_path: Path
) -> None:
    # A reserve no disk keeps: only a download spends it, and this replica runs none.
    with api_replica(tmp_path, postgres_url, min_free_bytes=str(10**18)) as client:
        response = client.get("/readyz")

    assert response.status_code == 200, response.text
    assert set(response.json()["checks"]) == {"store", "downloads_folder"}
