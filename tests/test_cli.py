import subprocess
import sys

from offlinetube_api import __version__


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offlinetube_api", *args], capture_output=True, text=True, timeout=60
    )


def test_module_entry_point_reports_its_version() -> None:
    completed = _cli("--version")

    assert completed.returncode == 0
    assert completed.stdout.strip() == __version__


def test_unknown_command_is_refused_with_usage() -> None:
    completed = _cli("launch-rockets")

    assert completed.returncode == 2
    assert "usage: offlinetube-api" in completed.stderr
