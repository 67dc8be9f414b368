import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from offlinetube_api import __version__
from offlinetube_api.__main__ import WORKERS_NEED_DATABASE
from offlinetube_api.worker_command import NEEDS_DATABASE
from tests.fixtures.postgres import Databases, free_port

# Beyond Python's start (measured by the test beside it): one refused connection takes
# milliseconds, the pool's own give-up took 11 s.
REFUSAL_BOUND_S = 5.0


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offlinetube_api", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=None if env is None else os.environ | env,
    )


def test_module_entry_point_reports_its_version() -> None:
    completed = _cli("--version")

    assert completed.returncode == 0
    assert completed.stdout.strip() == __version__


def test_unknown_command_is_refused_with_usage() -> None:
    completed = _cli("launch-rockets")

    assert completed.returncode == 2
    assert "usage: offlinetube-api" in completed.stderr


def test_a_bad_setting_stops_the_service_with_one_line_naming_it(tmp_path: Path) -> None:
    completed = _cli(
        env={"OFFLINETUBE_TRANSCODE": "sometimes", "OFFLINETUBE_DATA_DIR": str(tmp_path)}
    )

    assert completed.returncode == 2
    assert completed.stderr == (
        "OFFLINETUBE_TRANSCODE: Input should be 'auto' or 'never' (got 'sometimes')\n"
    )


def test_a_stalled_threshold_within_one_heartbeat_stops_the_worker_in_one_line(
    tmp_path: Path,
) -> None:
    completed = _cli(
        "worker",
        env={"OFFLINETUBE_STALLED_AFTER_SECONDS": "10", "OFFLINETUBE_DATA_DIR": str(tmp_path)},
    )

    assert completed.returncode == 2
    assert completed.stderr == (
        "OFFLINETUBE_STALLED_AFTER_SECONDS: Input should be greater than or equal to 20"
        " (got '10')\n"
    )


def test_a_worker_without_a_shared_database_is_refused_in_one_line(tmp_path: Path) -> None:
    completed = _cli("worker", env={"OFFLINETUBE_DATA_DIR": str(tmp_path)})

    assert completed.returncode == 2
    assert completed.stderr == f"{NEEDS_DATABASE}\n"


def test_serve_workers_without_a_shared_database_is_refused(tmp_path: Path) -> None:
    completed = _cli("serve", "--workers", "0", env={"OFFLINETUBE_DATA_DIR": str(tmp_path)})

    assert completed.returncode == 2
    assert completed.stderr == f"{WORKERS_NEED_DATABASE}\n"


def test_download_slots_out_of_range_are_refused_with_usage() -> None:
    for args in (("worker", "--concurrency", "0"), ("serve", "--workers", "65")):
        completed = _cli(*args)

        assert completed.returncode == 2
        assert "usage: offlinetube-api" in completed.stderr
        assert "a whole number from" in completed.stderr


@pytest.mark.parametrize(
    "command", [["serve"], ["serve", "--workers", "0"], ["worker"], ["keys", "list"], ["rebuild"]]
)
@pytest.mark.parametrize("fault", ["wrong port", "missing database"])
def test_a_database_address_that_does_not_answer_is_refused_in_one_line(
    postgres_databases: Databases, tmp_path: Path, command: list[str], fault: str
) -> None:
    server = urlsplit(postgres_databases.server_url)  # trust authentication: any password
    if fault == "wrong port":
        url = f"postgresql://tube:s3cret@127.0.0.1:{free_port()}/tube"
        reason = "connection refused"
    else:
        database = f"absent_{uuid.uuid4().hex}"
        url = f"postgresql://{server.username}:s3cret@{server.netloc.rpartition('@')[2]}/{database}"
        reason = f'database "{database}" does not exist'
    started = time.monotonic()
    _cli("--version")
    python_start_s = time.monotonic() - started
    started = time.monotonic()

    completed = _cli(
        *command, env={"OFFLINETUBE_DATABASE_URL": url, "OFFLINETUBE_DATA_DIR": str(tmp_path)}
    )

    assert time.monotonic() - started - python_start_s < REFUSAL_BOUND_S
    assert completed.returncode == 2
    shown = url.replace("s3cret", "***")
    assert completed.stderr == (
        f"OFFLINETUBE_DATABASE_URL: cannot connect: {reason} (got {shown!r})\n"
    )


def test_a_bad_database_url_is_refused_without_its_password(tmp_path: Path) -> None:
    completed = _cli(
        "keys",
        "list",
        env={
            "OFFLINETUBE_DATABASE_URL": "mysql://tube:s3cret@db/tube",
            "OFFLINETUBE_DATA_DIR": str(tmp_path),
        },
    )

    assert completed.returncode == 2
    assert completed.stderr == (
        "OFFLINETUBE_DATABASE_URL: Value error, must be a postgresql://user@host:port/database "
        "URL, or unset (got 'mysql://tube:***@db/tube')\n"
    )
