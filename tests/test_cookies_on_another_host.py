"""Distributed mode: a cookie set uploaded to an API-only replica is used by a worker whose
data folder is another one (as on another host), since the sets live in PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.routes.test_cookies import members_page, upload
from tests.fixtures.service import wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite
from tests.test_worker_command import DOWNLOAD_BOUND_S, _offlinetube, api_replica

__all__ = ["api_replica"]  # a fixture this module's test uses


@pytest.fixture
def far_worker(api_replica: ServiceProcess, tmp_path: Path) -> Iterator[ServiceProcess]:
    """`worker --concurrency 1` on the replica's database and downloads folder, with a data
    folder of its own."""
    host = ServiceProcess(
        tmp_path / "far",
        database_url=api_replica.settings["database_url"],
        allow_private_urls="true",
        downloads_dir=str(api_replica.downloads),
    )
    host.root.mkdir()
    host.process = _offlinetube(host, "worker", "--concurrency", "1")
    yield host
    host.process.kill()
    host.process.wait()


def test_a_worker_with_its_own_data_folder_sends_the_uploaded_set(
    api_replica: ServiceProcess, far_worker: ServiceProcess, site: FixtureSite
) -> None:
    client = api_replica.client
    assert upload(client, "members").status_code == 200

    posted = client.post("/api/download", json={"url": members_page(site), "force": True})

    def settled() -> dict[str, Any] | None:
        task: dict[str, Any] = client.get(f"/api/downloads/{posted.json()['id']}").json()
        return task if task["status"] in ("completed", "failed") else None

    task = wait_until(settled, deadline_s=DOWNLOAD_BOUND_S, what="the download to end")
    assert task["status"] == "completed", task["error"]
    assert task["cookies"] == "members"
    # Deleted as the run ends, a moment after its state is saved.
    folder = far_worker.data_dir / "cookie-files"
    wait_until(lambda: not any(folder.iterdir()), what="the worker's cookie file to go")
    assert not (api_replica.data_dir / "cookie-files").exists()
