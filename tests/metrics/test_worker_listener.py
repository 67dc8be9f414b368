"""Distributed mode: `offlinetube-api worker` with OFFLINETUBE_METRICS_PORT answers its own
/metrics, counting the downloads it ran; the API replica answers the shared figures, read from
the database, and counts no download it did not run."""

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from offlinetube_api import __version__
from tests.fixtures.prometheus import Scrape
from tests.fixtures.service import wait_until
from tests.fixtures.service_process import ServiceProcess, free_port
from tests.fixtures.site import FixtureSite

DOWNLOAD_BOUND_S = 60.0
COMPLETED = {"outcome": "completed", "error_kind": "none"}


WORKER_EXIT_DEADLINE_S = 90


def _worker(replica: ServiceProcess, **settings: str) -> subprocess.Popen[bytes]:
    """Its output goes to `worker.log` beside the replica's folders."""
    extra = {f"OFFLINETUBE_{name.upper()}": value for name, value in settings.items()}
    with (replica.root / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "offlinetube_api", "worker", "--concurrency", "1"],
            env=replica.environment() | extra,
            cwd=replica.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def api_replica(postgres_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    """`serve --workers 0`: it runs no download itself."""
    service = ServiceProcess(
        tmp_path / "install", database_url=postgres_url, allow_private_urls="true"
    )
    service.root.mkdir()
    with service.log.open("ab") as log:
        service.process = subprocess.Popen(
            [sys.executable, "-m", "offlinetube_api", "serve", "--workers", "0"],
            env=service.environment(),
            cwd=service.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    service.wait_ready()
    yield service
    service.stop()


def _scrape(url: str) -> Scrape:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200, response.text
    return Scrape(response.text)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_the_worker_counts_its_downloads_and_the_replica_the_shared_figures(
    api_replica: ServiceProcess, site: FixtureSite
) -> None:
    port = free_port()
    worker = _worker(api_replica, metrics_port=str(port))
    try:
        own = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{own}/healthz"), what="the worker's listener")
        url = site.page_url(video=site.url("/media/clip.mp4"))
        response = api_replica.client.post("/api/download", json={"url": url})
        assert response.status_code == 202, response.text

        worker_metrics: Scrape = wait_until(
            lambda: (
                (m := _scrape(f"{own}/metrics")).value("offlinetube_downloads_total", **COMPLETED)
                and m
            ),
            deadline_s=DOWNLOAD_BOUND_S,
            what="the worker to count its download",
        )
        replica_metrics = _scrape(f"{api_replica.base_url}/metrics")
    finally:
        worker.terminate()
        worker.wait(timeout=20)

    assert worker_metrics.value("offlinetube_downloads_total", **COMPLETED) == 1
    assert worker_metrics.value("offlinetube_downloaded_bytes_total") > 0
    assert worker_metrics.value("offlinetube_download_duration_seconds_count", outcome="completed")
    assert worker_metrics.value("offlinetube_build_info", version=__version__, mode="worker") == 1
    assert all(name.startswith("offlinetube_") for name in worker_metrics.names)
    # The replica ran nothing, but reads what every replica reads from the database.
    assert replica_metrics.value("offlinetube_downloads_total", **COMPLETED) == 0
    assert replica_metrics.value("offlinetube_tasks", status="completed") == 1
    assert replica_metrics.value("offlinetube_queue_depth") == 0
    assert replica_metrics.value("offlinetube_downloads_running") == 0


def test_a_busy_metrics_port_stops_the_worker_with_one_line_naming_it(
    api_replica: ServiceProcess,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        worker = _worker(api_replica, metrics_port=str(port))
        try:
            # The port is judged right after start-up's imports, which took over 30 s once on
            # a CI machine running four test processes at once.
            assert worker.wait(timeout=WORKER_EXIT_DEADLINE_S) == 2
        finally:
            if worker.poll() is None:  # past the deadline: not left running after the test
                worker.kill()
                worker.wait(timeout=10)
    said = (api_replica.root / "worker.log").read_text().strip().splitlines()
    assert said == [
        f"OFFLINETUBE_METRICS_PORT: port {port} on 127.0.0.1 is already in use by another "
        f"program; choose a free port from 1 to 65535, or stop that program (got '{port}')"
    ]
