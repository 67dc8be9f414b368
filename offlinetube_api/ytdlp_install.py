"""yt-dlp updates without a shell: the newest yt-dlp (or a nightly) installed with pip into a
folder of the data folder, which download processes put first on their `sys.path`
(worker/ytdlp_path.py), so the service's own environment is never touched and a non-root
container can update too.

The folder, `<data>/yt-dlp/`, holds one sub-folder per installed version and `current`, a
symbolic link to the one in use, swapped in one step once a new one has installed and imported
(a failed install or import leaves it, and so the old version, as it was). The previous two
stay, for downloads that still run on them. It is used while it is newer than the yt-dlp of
the environment (`folder_in_use`). This process never imports yt-dlp: versions are read from
the packages' metadata."""

import fcntl
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from packaging.version import Version

FOLDER_NAME = "yt-dlp"
# Names the folder to download processes' forkserver (worker/ytdlp_path.py); set by the service.
FOLDER_ENV = "_OFFLINETUBE_YTDLP_FOLDER"  # not OFFLINETUBE_*: no setting
CURRENT = "current"
KEPT_VERSIONS = 3  # the current one and the two before it
PIP_TIMEOUT_S = 600.0
INDEX_TIMEOUT_S = 60.0
_PACKAGE = "yt-dlp"
# Run in the new folder before it becomes current: yt-dlp and what it imports load, and say
# which version they are.
_IMPORT_CHECK = (
    "import sys; sys.path.insert(0, sys.argv[1]); import yt_dlp, yt_dlp.version; "
    "yt_dlp.YoutubeDL({'quiet': True}).close(); print(yt_dlp.version.__version__)"
)


class Channel(StrEnum):
    """`stable`: the newest release; `nightly`: the newest build, pre-releases included (yt-dlp
    publishes its nightly builds to PyPI as such)."""

    STABLE = "stable"
    NIGHTLY = "nightly"


class UpdateFailed(Exception):
    """pip could not install yt-dlp, or what it installed did not import; the version in use
    is unchanged. The message says why, for a person."""


@dataclass(frozen=True, slots=True)
class YtdlpStatus:
    installed: str  # the version new downloads use
    folder: str | None  # where it is installed; None: the service's own environment
    newest: str | None  # the newest release on the package index; None: not known
    newest_error: str | None  # why the newest is not known (the index could not be read)


def ytdlp_folder(data_dir: Path) -> Path:
    return data_dir / FOLDER_NAME


def current_folder(folder: Path) -> Path | None:
    """The installed version in use, by its real path; None when there is none (yet)."""
    link = folder / CURRENT
    target = link.resolve() if link.is_symlink() else None
    return target if target is not None and target.is_dir() else None


def folder_in_use(folder: Path) -> Path | None:
    """The folder of the installed version while it is newer than the environment's yt-dlp;
    else None, as an image rebuilt with a newer one, or the environment upgraded by hand,
    overtakes it."""
    current = current_folder(folder)
    if current is None or Version(_version_in(current)) <= Version(_version_in(None)):
        return None
    return current


def installed_version(folder: Path) -> str:
    """The yt-dlp version new downloads import: the folder's, else the environment's."""
    return _version_in(folder_in_use(folder))


@cache
def _version_in(current: Path | None) -> str:
    """Read once per folder (a version's folder is never changed once in use): it scans
    packages' metadata on disk."""
    if current is not None:
        for distribution in importlib.metadata.distributions(name=_PACKAGE, path=[str(current)]):
            return distribution.version
    return importlib.metadata.version(_PACKAGE)


def index_options(index: str | None) -> list[str]:
    """pip's options for OFFLINETUBE_YTDLP_INDEX: a package index by URL, a folder of wheels
    alone, or nothing (pip's own configuration, PyPI by default)."""
    if index is None:
        return []
    if "://" in index:
        return ["--index-url", index]
    return ["--no-index", "--find-links", index]


def _python(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """This Python (pip, or the import check), its output kept; UpdateFailed if it did not
    finish in time."""
    try:
        return subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        raise UpdateFailed(f"pip did not finish within {timeout_s:g} seconds") from None


def _pip(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return _python("-m", "pip", *args, "--disable-pip-version-check", timeout_s=timeout_s)


def _last_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    return (lines or done.stderr.strip().splitlines() or ["no message"])[-1]


def newest_version(index: str | None, channel: Channel = Channel.STABLE) -> str:
    """The newest yt-dlp on the index. Raises UpdateFailed when the index cannot be read."""
    pre = ["--pre"] if channel is Channel.NIGHTLY else []
    done = _pip(
        "index", "versions", _PACKAGE, *pre, *index_options(index), timeout_s=INDEX_TIMEOUT_S
    )
    first = done.stdout.strip().splitlines()[:1]
    if done.returncode != 0 or not first or "(" not in first[0]:
        raise UpdateFailed(f"the package index could not be read: {_last_error(done)}")
    return first[0].partition("(")[2].rstrip(")")


def status(folder: Path, index: str | None) -> YtdlpStatus:
    """What is installed, and the newest release when the index can be read (blocking: pip)."""
    in_use = folder_in_use(folder)
    try:
        newest, error = newest_version(index), None
    except UpdateFailed as exc:
        newest, error = None, str(exc)
    return YtdlpStatus(
        installed=_version_in(in_use),
        folder=str(in_use) if in_use else None,
        newest=newest,
        newest_error=error,
    )


def update(folder: Path, *, index: str | None, channel: Channel = Channel.STABLE) -> str:
    """Installs the newest yt-dlp of `channel`, with its `default` extra, and makes it the one
    new downloads use; its version. One update at a time per folder, whatever process asks.
    Raises UpdateFailed; the version in use is then unchanged."""
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        try:
            version = _install(staging, index=index, channel=channel)
            installed = folder / version
            if installed == current_folder(folder):
                return version  # already in use: nothing to swap
            shutil.rmtree(installed, ignore_errors=True)
            staging.rename(installed)
            _point_current_at(folder, installed)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _forget_old_versions(folder)
        return version


def _install(target: Path, *, index: str | None, channel: Channel) -> str:
    pre = ["--pre"] if channel is Channel.NIGHTLY else []
    requirement = f"{_PACKAGE}[default]"
    args = ["install", "--quiet", "--upgrade", "--no-warn-script-location", "--target"]
    done = _pip(
        *args, str(target), *pre, *index_options(index), requirement, timeout_s=PIP_TIMEOUT_S
    )
    if done.returncode != 0:
        raise UpdateFailed(f"pip could not install yt-dlp: {_last_error(done)}")
    check = _python("-c", _IMPORT_CHECK, str(target), timeout_s=PIP_TIMEOUT_S)
    if check.returncode != 0 or not check.stdout.strip():
        raise UpdateFailed(f"the yt-dlp pip installed does not import: {_last_error(check)}")
    return check.stdout.strip().splitlines()[-1]


def _point_current_at(folder: Path, installed: Path) -> None:
    """Replaces the link in one step (rename), so a reader sees the old or the new one."""
    link, fresh = folder / CURRENT, folder / f".{CURRENT}-new"
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(installed.name)
    os.replace(fresh, link)


def _forget_old_versions(folder: Path) -> None:
    versions = [
        path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")
    ]
    current = current_folder(folder)
    older = sorted((path for path in versions if path != current), key=lambda p: p.stat().st_mtime)
    for path in older[: max(0, len(older) - (KEPT_VERSIONS - 1))]:
        shutil.rmtree(path, ignore_errors=True)
