"""The line a process logs at INFO once it has started: what an operator checks first (which
version, which mode and store, which folders, where it listens, who may use it, whether the
SSRF guard is on, which ffmpeg and JavaScript runtime the downloads get). The same facts go
as fields for the JSON format."""

import logging
from typing import Any

from offlinetube_api import __version__
from offlinetube_api.config import AuthMode, Settings, redacted
from offlinetube_api.programs import Programs

logger = logging.getLogger(__name__)


def log_service_start(
    settings: Settings, *, programs: Programs, keys_required: bool, slots: int
) -> None:
    """`serve`: `keys_required`, whether requests need a key now; `slots`, the downloads this
    process runs at once."""
    # An IPv6 address goes in brackets in a URL (RFC 3986): http://[::1]:8001, not http://::1:8001.
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    bind = f"http://{host}:{settings.port}"
    auth = _auth(settings.auth, keys_required=keys_required)
    facts = _facts(settings, programs=programs, slots=slots) | {"bind": bind, "auth": auth}
    logger.info(
        "offlinetube-api %s started: %s; listening on %s; auth %s; %s",
        __version__,
        _mode_text(facts),
        bind,
        auth,
        _rest_text(facts),
        extra={"event": "service.started"} | facts,
    )


def log_worker_start(settings: Settings, *, programs: Programs, slots: int) -> None:
    """`worker`: a process that runs `slots` downloads at once and answers no HTTP."""
    facts = _facts(settings, programs=programs, slots=slots)
    logger.info(
        "offlinetube-api %s worker started: %s; %s",
        __version__,
        _mode_text(facts),
        _rest_text(facts),
        extra={"event": "worker.started"} | facts,
    )


def _facts(settings: Settings, *, programs: Programs, slots: int) -> dict[str, Any]:
    if settings.database_url is None:
        store = f"sqlite {settings.database_path.resolve()}"
    else:
        store = f"postgresql {redacted(settings.database_url.get_secret_value())}"
    js_runtime = programs.js_runtime
    return {
        "version": __version__,
        "mode": "distributed" if settings.distributed else "embedded",
        "store": store,
        "queue": "procrastinate" if settings.distributed else "in-process",
        "download_slots": slots,
        "downloads_dir": str(settings.downloads_dir.resolve()),
        "thumbnails_dir": str(settings.thumbnails_dir.resolve()),
        "data_dir": str(settings.data_dir.resolve()),
        "ssrf_guard": not settings.allow_private_urls,
        "ffmpeg": programs.ffmpeg.path,
        "ffmpeg_version": programs.ffmpeg.version,
        "js_runtime": js_runtime.path if js_runtime else None,
        "js_runtime_version": js_runtime.version if js_runtime else None,
    }


def _auth(mode: AuthMode | None, *, keys_required: bool) -> str:
    if mode is not None:
        return str(mode)
    return "keys required" if keys_required else "open on loopback until a key exists"


def _mode_text(facts: dict[str, Any]) -> str:
    slots = facts["download_slots"]
    return (
        f"{facts['mode']} mode ({facts['store']}, {facts['queue']} queue, "
        f"{slots} download slot{'' if slots == 1 else 's'})"
    )


def _rest_text(facts: dict[str, Any]) -> str:
    ffmpeg = _program_text(facts["ffmpeg"], facts["ffmpeg_version"])
    js_runtime = _program_text(facts["js_runtime"], facts["js_runtime_version"])
    return (
        f"downloads {facts['downloads_dir']}, thumbnails {facts['thumbnails_dir']}, "
        f"data {facts['data_dir']}; SSRF guard {'on' if facts['ssrf_guard'] else 'off'}; "
        f"ffmpeg {ffmpeg}; JavaScript runtime {js_runtime}"
    )


def _program_text(path: str | None, version: str | None) -> str:
    """`/usr/bin/ffmpeg 5.1.6`, the path alone when its version is unknown, or `none`."""
    return " ".join(filter(None, (path, version))) or "none"
