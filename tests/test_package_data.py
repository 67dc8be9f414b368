"""A non-editable install (the Docker image's `pip install --no-deps .`) carries every file the
package reads at run time besides its modules: the wheel, built here offline with the locked
setuptools, holds the migrations and the files /docs and /redoc load."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "offlinetube_api"
DATA_FOLDERS = ("store/migrations", "api/docs_assets", "web/templates", "web/static")


def test_wheel_holds_every_data_file(tmp_path: Path) -> None:
    # A copy of the sources: setuptools writes build/ and *.egg-info beside them.
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]

    subprocess.run([*build, str(source), "-w", str(tmp_path / "dist")], check=True, timeout=120)

    (wheel,) = (tmp_path / "dist").glob("*.whl")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    data_files = [
        path.relative_to(ROOT).as_posix()
        for folder in DATA_FOLDERS
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert any("docs_assets/" in name for name in data_files)
    assert sorted(set(data_files) - in_wheel) == []
