import os
import subprocess
import sys
from pathlib import Path

from offlinetube_api import __version__
from offlinetube_api.__main__ import WORKERS_NEED_DATABASE
from offlinetube_api.worker_command import NEEDS_DATABASE


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

    assert completed.returncode == 1
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

    assert completed.returncode == 1
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
