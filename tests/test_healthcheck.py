"""The container's health check (`python -m offlinetube_api.healthcheck`, the Dockerfile's
HEALTHCHECK) asks the service where its settings say it listens, as a separate process does."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.fixtures.postgres import free_port
from tests.fixtures.service import RunningService, ServiceFactory


def _check(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {f"OFFLINETUBE_{name.upper()}": value for name, value in settings.items()}
    return subprocess.run(
        [sys.executable, "-m", "offlinetube_api.healthcheck"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _port(service: RunningService) -> str:
    return str(urlsplit(service.base_url).port)


def test_a_running_service_is_healthy_on_the_port_it_was_given(
    service: RunningService, tmp_path: Path
) -> None:
    checked = _check(tmp_path, host="0.0.0.0", port=_port(service))  # as in the image

    assert (checked.returncode, checked.stderr) == (0, "")


def test_the_check_names_a_host_the_service_admits(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    service = make_service(allowed_hosts=["tube.lan"])
    assert service.client.get("/api/health").status_code == 400  # Host 127.0.0.1 is refused

    checked = _check(tmp_path, port=_port(service), allowed_hosts="tube.lan,127.0.0.1")

    assert (checked.returncode, checked.stderr) == (0, "")


def test_nothing_listening_is_unhealthy_in_one_line(tmp_path: Path) -> None:
    port = free_port()

    checked = _check(tmp_path, port=str(port))

    assert checked.returncode == 1
    assert checked.stderr.startswith(f"unhealthy: http://127.0.0.1:{port}/healthz: ")
    assert checked.stderr.count("\n") == 1


def test_a_bad_setting_is_unhealthy_not_a_traceback(tmp_path: Path) -> None:
    checked = _check(tmp_path, port="eighty")

    assert (checked.returncode, checked.stderr) == (
        1,
        "unhealthy: the settings are not valid: 1 error(s)\n",
    )
