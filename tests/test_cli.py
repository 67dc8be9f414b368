import os
import subprocess
import sys
from pathlib import Path

from offlinetube_api import __version__


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
