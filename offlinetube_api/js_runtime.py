"""Finds the JavaScript runtime yt-dlp solves sites' challenges with (YouTube's signature and
`n` challenges since yt-dlp 2025.11.12, with the yt-dlp-ejs scripts): Deno, from
OFFLINETUBE_JS_RUNTIME, else the binary the `deno` package installed, else `deno` on PATH.

yt-dlp runs it as `deno run --no-remote --no-prompt ... -` with no `--allow-*` permission, so
the script it runs may open no connection and read no file; that is why the download process's
SSRF guard (worker/network_guard.py) lets yt-dlp start it."""

import logging
import shutil
from dataclasses import dataclass
from enum import StrEnum

from offlinetube_api.program_version import version_of

logger = logging.getLogger(__name__)

# yt-dlp's name of the runtime (a key of its `js_runtimes` option), and its binary's.
DENO = "deno"
# OFFLINETUBE_JS_RUNTIME's value for "no runtime at all".
NO_RUNTIME = "none"

NONE_FOUND = (
    "no JavaScript runtime: neither the deno package's binary nor `deno` on PATH was found; "
    "yt-dlp cannot solve YouTube's JavaScript challenges, so YouTube downloads may fail or "
    "offer only some formats. Install the deno package, or set OFFLINETUBE_JS_RUNTIME to the "
    "path of a deno binary"
)
NONE_WANTED = (
    "no JavaScript runtime (OFFLINETUBE_JS_RUNTIME=none): yt-dlp cannot solve YouTube's "
    "JavaScript challenges, so YouTube downloads may fail or offer only some formats"
)


class JsRuntimeSource(StrEnum):
    SETTING = "setting"  # OFFLINETUBE_JS_RUNTIME
    PACKAGE = "deno-package"
    PATH = "path"


@dataclass(frozen=True, slots=True)
class JsRuntime:
    name: str  # yt-dlp's key in `js_runtimes`: "deno"
    path: str
    source: JsRuntimeSource
    version: str | None  # "2.9.8"; None when `--version` answered nothing readable


def _packaged_deno() -> str | None:
    try:
        import deno
    except ImportError:
        return None
    try:
        return str(deno.find_deno_bin())
    except FileNotFoundError:  # the package is there, its binary is not (a broken install)
        return None


def _version_of(path: str) -> str | None:
    """From `deno --version`'s first line: "deno 2.9.8 (stable, release, ...)"."""
    return version_of([path, "--version"], r"deno (\S+)")


def _find(setting: str | None) -> tuple[str, JsRuntimeSource] | None:
    if setting is not None:
        return (setting, JsRuntimeSource.SETTING) if setting != NO_RUNTIME else None
    packaged = _packaged_deno()
    if packaged:
        return packaged, JsRuntimeSource.PACKAGE
    on_path = shutil.which(DENO)
    return (on_path, JsRuntimeSource.PATH) if on_path else None


def locate_js_runtime(setting: str | None) -> JsRuntime | None:
    """`setting`: OFFLINETUBE_JS_RUNTIME as validated by Settings (a deno binary's path, or
    `none`), None when unset. None when there is no runtime, with a WARNING logged. Blocking:
    runs `deno --version`; call once at start-up, off the event loop."""
    found = _find(setting)
    if found is None:
        logger.warning(NONE_WANTED if setting == NO_RUNTIME else NONE_FOUND)
        return None
    path, source = found
    version = _version_of(path)
    if version is None:
        logger.warning(
            "the JavaScript runtime %s did not answer `--version` as Deno does; yt-dlp may be "
            "unable to use it",
            path,
        )
    return JsRuntime(name=DENO, path=path, source=source, version=version)
