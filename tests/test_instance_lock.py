"""Two instances on one data folder: the second stops at once with one line, exit code 2, and
the first carries on as if nothing happened. Distributed processes (API replicas, workers) share
a folder with each other, never with an embedded service."""

import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.fixtures.service import wait_until
from tests.fixtures.service_process import ServiceProcess, running_service
from tests.fixtures.site import FixtureSite


def _start_downloading(service: ServiceProcess, site: FixtureSite) -> tuple[httpx.Client, str]:
    client = service.start()
    media = site.url(f"/slow/20000/clip.mp4?test={uuid.uuid4().hex}")
    task_id = client.post("/api/download", json={"url": site.page_url(video=media)}).json()["id"]
    wait_until(
        lambda: (client.get(f"/api/downloads/{task_id}").json()["downloaded_bytes"] or 0) > 0,
        what="the download to be under way",
    )
    return client, task_id


def _refused(second: ServiceProcess) -> str:
    process = second.launch(stderr=subprocess.PIPE)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "another instance" in lines[0], lines
    return lines[0]


def _first_unharmed(service: ServiceProcess, client: httpx.Client, task_id: str) -> None:
    def finished() -> dict[str, object] | None:
        task: dict[str, object] = client.get(f"/api/downloads/{task_id}").json()
        return task if task["status"] not in ("queued", "downloading", "processing") else None

    task = wait_until(finished, what="the first instance's download to finish")
    assert (task["status"], task["attempts"]) == ("completed", 1), task
    assert (service.root / "downloads" / f"video__{task_id}.mp4").is_file()


@pytest.mark.stores("sqlite")  # the first is an embedded service, holding it alone
def test_second_instance_on_the_same_data_folder_exits_at_once(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    client, task_id = _start_downloading(service_process, site)

    line = _refused(ServiceProcess(service_process.root, allow_private_urls="true"))

    assert str(service_process.root / "data") in line and f"pid {service_process.pid}" in line
    _first_unharmed(service_process, client, task_id)


def test_second_instance_reaching_the_data_folder_by_another_path_exits_too(
    service_process: ServiceProcess, site: FixtureSite, tmp_path: Path
) -> None:
    client, task_id = _start_downloading(service_process, site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data").symlink_to(service_process.root / "data")

    _refused(ServiceProcess(elsewhere, allow_private_urls="true"))

    _first_unharmed(service_process, client, task_id)


def test_rebuild_refuses_while_an_instance_holds_the_data_folder(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    client, task_id = _start_downloading(service_process, site)

    rebuilt = service_process.command("rebuild")

    assert rebuilt.returncode == 2, rebuilt.stderr
    assert "another instance" in rebuilt.stderr and rebuilt.stdout == ""
    if "database_url" not in service_process.settings:  # distributed holders share, unnamed
        assert f"pid {service_process.pid}" in rebuilt.stderr
    _first_unharmed(service_process, client, task_id)


def test_distributed_replicas_share_one_data_folder(postgres_url: str, tmp_path: Path) -> None:
    """As compose.distributed.yaml runs them: one volume for every replica's data folder."""
    with (
        running_service(tmp_path, database_url=postgres_url) as first,
        running_service(tmp_path, database_url=postgres_url) as second,
    ):
        for replica in (first, second):
            assert replica.client.get("/api/health").status_code == 200


@pytest.mark.stores("sqlite")  # the first is an embedded service, holding it alone
def test_a_distributed_process_stays_off_an_embedded_services_folder(
    service_process: ServiceProcess, postgres_url: str
) -> None:
    service_process.start()
    distributed = ServiceProcess(service_process.root, database_url=postgres_url)

    line = _refused(distributed)
    worker = distributed.command("worker")

    assert f"pid {service_process.pid}" in line
    assert worker.returncode == 2, worker.stderr
    assert worker.stderr.strip() == line
    assert service_process.client.get("/api/health").status_code == 200


def test_an_embedded_service_stays_off_distributed_processes_folder(
    postgres_url: str, tmp_path: Path
) -> None:
    with running_service(tmp_path, database_url=postgres_url) as replica:
        embedded = ServiceProcess(tmp_path, allow_private_urls="true")

        line = _refused(embedded)
        rebuilt = embedded.command("rebuild")

        assert "pid" not in line  # held by however many distributed processes
        assert (rebuilt.returncode, rebuilt.stderr.strip()) == (2, line)
        assert replica.client.get("/api/health").status_code == 200
