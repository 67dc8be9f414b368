import subprocess
import sys

from offlinetube_api import __version__


def test_module_entry_point_reports_its_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "offlinetube_api", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 0
    assert completed.stdout.strip() == __version__


def test_unknown_command_is_refused_with_usage() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "offlinetube_api", "launch-rockets"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2
    assert "usage: offlinetube-api" in completed.stderr
